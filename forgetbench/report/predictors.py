"""What predicts forgetting, with uncertainty: per candidate measure x of a run (``plots.PREDICTORS``)
against its final old-task decline y, pooled over runs:

- R² of the linear and of the quadratic least-squares fit of y on x (1 − SS_res/SS_tot),
- Spearman ρ(x, y) (Pearson correlation of the average ranks),
- the partial Spearman correlation of x and y given the new-task accuracy z,
  ρ_xy·z = (ρ_xy − ρ_xz·ρ_yz) / √((1 − ρ_xz²)(1 − ρ_yz²)): a measure that only tracks "learned
  more" drops towards 0 here,

each with a 95% percentile interval from the hierarchical bootstrap over base replicas -> seeds
(``report.bootstrap``; a drawn (replica, seed) brings all its runs; the eval-example level does not
apply: the measures are not per-example).
"""
from __future__ import annotations

import math

import numpy as np

from forgetbench.report.bootstrap import Draw, Interval, bootstrap
from forgetbench.report.runs import base_of
from forgetbench.report.plots import PREDICTORS
from forgetbench.report.runs import Run
from forgetbench.report.statistics import num, r_squared_quadratic_finite

ACC, DECLINE = "final_new_task_accuracy", "final_old_task_decline"
STATS = ("r2_linear", "r2_quadratic", "spearman", "partial_spearman")


def ranks(a) -> np.ndarray:
    """Average ranks, 1-based (ties share the mean of their ranks)."""
    a = np.asarray(a, dtype=float)
    vals, inv, counts = np.unique(a, return_inverse=True, return_counts=True)
    return (np.cumsum(counts) - (counts - 1) / 2.0)[inv]


def pearson(x, y) -> float | None:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx, dy = x - x.mean(), y - y.mean()
    den = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return None if den == 0.0 else float(dx @ dy) / den


def spearman(x, y) -> float | None:
    return pearson(ranks(x), ranks(y)) if len(x) >= 3 else None


def _partial(rxy: float | None, rxz: float | None, ryz: float | None) -> float | None:
    """ρ_xy·z = (ρ_xy − ρ_xz·ρ_yz) / √((1 − ρ_xz²)(1 − ρ_yz²)); None when undefined."""
    if None in (rxy, rxz, ryz):
        return None
    den = math.sqrt(max(0.0, (1 - rxz ** 2) * (1 - ryz ** 2)))
    return None if den < 1e-12 else (rxy - rxz * ryz) / den


def partial_spearman(x, y, z) -> float | None:
    """Spearman correlation of x and y with z partialled out (None when undefined)."""
    if len(x) < 4:
        return None
    rx, ry, rz = ranks(x), ranks(y), ranks(z)
    return _partial(pearson(rx, ry), pearson(rx, rz), pearson(ry, rz))


def r_squared_linear(x, y) -> float | None:
    r = pearson(x, y) if len(x) >= 3 else None
    return None if r is None else r * r


def statistics_of(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The :data:`STATS` of one sample of finite values (NaN where undefined); each rank vector once."""
    rx, ry, rz = ranks(x), ranks(y), ranks(z)
    rho = pearson(rx, ry) if len(x) >= 3 else None
    partial = _partial(rho, pearson(rx, rz), pearson(ry, rz)) if len(x) >= 4 else None
    vals = (r_squared_linear(x, y), r_squared_quadratic_finite(x, y), rho, partial)
    return np.array([np.nan if v is None else v for v in vals])


def _triples(runs: list[Run], key: str) -> dict[tuple, list[tuple[float, float, float]]]:
    """(base, seed) -> [(x, y, z)] over the runs where all three are finite numbers."""
    out: dict[tuple, list] = {}
    for r in runs:
        t = tuple(num(r.summary.get(k)) for k in (key, DECLINE, ACC))
        if all(v is not None and math.isfinite(v) for v in t):
            out.setdefault((base_of(r), r.seed), []).append(t)
    return out


def predictor_table(runs: list[Run], n_boot: int = 1000, seed: int = 0) -> list[tuple[str, int, Interval]]:
    """Per predictor: (key, n runs, Interval over :data:`STATS`)."""
    out = []
    for key, _ in PREDICTORS:
        units = _triples(runs, key)
        n = sum(len(v) for v in units.values())
        if n < 3:
            out.append((key, n, None))
            continue
        clusters: dict = {}
        for b, s in units:
            clusters.setdefault(b, []).append(s)

        def statistic(d: Draw, units=units) -> np.ndarray:
            rows = [t for g in d.groups for u in g for t in units.get(u, [])] if d.groups else \
                [t for v in units.values() for t in v]
            x, y, z = (np.array(c) for c in zip(*rows))
            return statistics_of(x, y, z)

        out.append((key, n, bootstrap(statistic, clusters, {}, n_boot, seed, levels=("bases", "seeds"))))
    return out


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
    return (["", "### What predicts forgetting? (final old-task decline, pooled over runs)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in rows]
            + ["", "R²: least-squares fits y ≈ a + b·x (linear) and y ≈ a + b·x + c·x² (quadratic); ρ: Spearman; "
                   "partial ρ: Spearman correlation with the decline after partialling out the new-task accuracy "
                   "(a measure that only tracks how much was learned drops to ~0). Intervals: "
                   f"{how or 'none (too few runs)'}; estimate on all runs."])
