"""Report section: what predicts forgetting, with the bootstrap intervals of ``report.stats.predictors``."""
from __future__ import annotations

import numpy as np

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import table as md_table
from forgetbench.report.stats.predictors import MIN_RUNS, STATS, predictor_table


def predictor_section(runs: list[Run], n_boot: int = 1000, table=None) -> list[str]:
    """Markdown lines: the table (``predictor_table``, computed unless given), then what each column is
    and which resampling made the intervals."""
    rows, how = [], ""
    for key, n, iv in (predictor_table(runs, n_boot) if table is None else table):
        if iv is None:
            rows.append([key, str(n), "—", "—", "—", "—"])
            continue
        how = iv.how
        cells = []
        for i in range(len(STATS)):
            e, lo, hi = iv.estimate[i], iv.low[i], iv.high[i]
            cells.append("—" if not np.isfinite(e) else f"{e:.2f} [{lo:.2f}, {hi:.2f}]")
        rows.append([key, str(n)] + cells)
    head = ["predictor", "n runs", "R² linear", "R² quadratic", "Spearman ρ", "partial ρ given new-task acc"]
    return (["", "### What predicts forgetting? (final old-task decline, pooled over runs)", ""]
            + md_table(head, rows)
            + ["", "R²: least-squares fits y ≈ a + b·x (linear) and y ≈ a + b·x + c·x² (quadratic); ρ: Spearman; "
                   "partial ρ: Spearman correlation with the decline after partialling out the new-task accuracy "
                   "(a measure that only tracks how much was learned drops to ~0). Intervals: "
                   f"{how or f'none (a fit needs ≥ {MIN_RUNS} runs)'}; estimate on all runs."])
