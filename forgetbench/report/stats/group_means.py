"""Seed statistics of one group's runs at each stage or at the final stage: the old-task decline per
trained stage, the per-module drift, and the recommender's defects."""
from __future__ import annotations

import numpy as np

from forgetbench.report.runs import Run, last, num
from forgetbench.report.stats.statistics import MeanCI, mean_ci


def decline_curves(runs: list[Run]) -> list[MeanCI]:
    """Per trained stage k (index 0 = stage 1): seed statistics of old_task_decline[k]."""
    lists = [(r.data.get("metrics") or {}).get("old_task_decline") or [] for r in runs]
    n = max((len(x) for x in lists), default=0)
    return [mean_ci([x[k] for x in lists if k < len(x)]) for k in range(n)]


def final_per_layer(runs: list[Run]) -> dict[str, float]:
    """Seed-mean per-module relative drift at each run's final stage."""
    vals: dict[str, list[float]] = {}
    for r in runs:
        d = last(r.data.get("drift"))
        per = d.get("per_layer") if isinstance(d, dict) else None
        for k, v in (per or {}).items():
            if num(v) is not None:
                vals.setdefault(str(k), []).append(num(v))
    return {k: float(np.mean(v)) for k, v in vals.items()}


def final_defects(runs: list[Run]) -> dict[str, MeanCI]:
    """Seed statistics of each numeric final-stage defect metric (recsys)."""
    vals: dict[str, list[float]] = {}
    for r in runs:
        d = last(r.per_stage("defects"))
        if isinstance(d, dict):
            for k, v in d.items():
                if num(v) is not None:
                    vals.setdefault(str(k), []).append(num(v))
    return {k: mean_ci(v) for k, v in vals.items()}


def summary_stats(runs: list[Run], key: str) -> MeanCI:
    """Seed statistics of one summary value (``Run.summary[key]``) over a group's runs."""
    return mean_ci(r.summary.get(key) for r in runs)
