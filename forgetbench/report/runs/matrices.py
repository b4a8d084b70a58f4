"""Seed-mean accuracy matrices R[stage][task] of a group of runs, and the recommender's random-policy
ratio beside them."""
from __future__ import annotations

import numpy as np

from forgetbench.report.runs.run import Run
from forgetbench.report.runs.values import num


def mean_matrix(runs: list[Run]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Seed-mean accuracy matrix aligned by stage position/name and task name (cells missing in
    every run are None). Stage names come from the longest run."""
    longest = max(runs, key=lambda r: len(r.stages))
    stages = longest.stages
    tasks: list[str] = []
    for r in runs:
        tasks += [t for t in r.tasks if t not in tasks]
    mat = []
    for i in range(len(stages)):
        row = []
        for t in tasks:
            vals = [r.cell(i, t) for r in runs if i < len(r.stages)]
            vals = [v for v in vals if v is not None]
            row.append(float(np.mean(vals)) if vals else None)
        mat.append(row)
    return stages, tasks, mat


def mean_random_ratio(runs: list[Run]) -> dict[str, float]:
    """Seed-mean random-policy ratio per segment (recsys)."""
    vals: dict[str, list[float]] = {}
    for r in runs:
        for k, v in r.random_ratio().items():
            if num(v) is not None:
                vals.setdefault(str(k), []).append(num(v))
    return {k: float(np.mean(v)) for k, v in vals.items()}
