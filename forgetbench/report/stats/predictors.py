"""What predicts forgetting, with uncertainty: per candidate measure x of a run (``PREDICTORS``)
against its final old-task decline y, pooled over runs:

- R² of the linear and of the quadratic least-squares fit of y on x (1 − SS_res/SS_tot),
- Spearman ρ(x, y) (Pearson correlation of the average ranks),
- the partial Spearman correlation of x and y given the new-task accuracy z,
  ρ_xy·z = (ρ_xy − ρ_xz·ρ_yz) / √((1 − ρ_xz²)(1 − ρ_yz²)): a measure that only tracks "learned
  more" drops towards 0 here,

each with a 95% percentile interval from the hierarchical bootstrap over base replicas -> seeds
(``report.stats.bootstrap``; a drawn (replica, seed) brings all its runs; the eval-example level does not
apply: the measures are not per-example). ``predictor_r2`` is the plain quadratic R² per predictor
that the forgetting-vs-predictor plot shows.
"""
from __future__ import annotations

import math

import numpy as np

from forgetbench.report.runs import ACC, DECLINE, Run, base_of, num
from forgetbench.report.stats.bootstrap import Draw, Interval, bootstrap
from forgetbench.report.stats.fits import (
    partial_correlation, pearson, r_squared_linear, r_squared_quadratic, r_squared_quadratic_finite, ranks,
)

#: Candidate predictors of forgetting: (summary key, axis label).
PREDICTORS = (
    ("final_new_task_forward_kl", "forward KL on new-task prompts (nats/seq)"),
    ("final_old_task_forward_kl", "forward KL on old-task prompts (nats/seq)"),
    ("final_relative_l2", "relative L2 drift ‖θ-θ0‖/‖θ0‖"),
    ("final_new_task_reverse_kl", "reverse KL on new-task prompts (nats/seq)"),
    ("final_angular_deg", "angular drift (degrees)"),
    ("final_update_sparsity", "update sparsity (share of |Δ| ≤ 1e-5)"),
    ("final_update_rank_frac", "update rank rank(ΔW)/min(m,n)"),
)
STATS = ("r2_linear", "r2_quadratic", "spearman", "partial_spearman")


def statistics_of(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The :data:`STATS` of one sample of finite values (NaN where undefined); each rank vector once."""
    rx, ry, rz = ranks(x), ranks(y), ranks(z)
    rho = pearson(rx, ry) if len(x) >= 3 else None
    partial = partial_correlation(rho, pearson(rx, rz), pearson(ry, rz)) if len(x) >= 4 else None
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


#: Runs a predictor fit needs before the report shows it.
MIN_RUNS = 10


def predictor_table(runs: list[Run], n_boot: int = 1000, seed: int = 0) -> list[tuple[str, int, Interval]]:
    """Per predictor: (key, n runs, Interval over :data:`STATS`)."""
    out = []
    for key, _ in PREDICTORS:
        units = _triples(runs, key)
        n = sum(len(v) for v in units.values())
        if n < MIN_RUNS:                     # a fit over a handful of runs is no finding
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


def predictor_r2(runs: list[Run]) -> dict[str, tuple[float | None, int]]:
    """Per predictor: quadratic R² of final old-task decline on it over all runs, and n points."""
    out = {}
    ys = [r.summary.get(DECLINE) for r in runs]
    for key, _ in PREDICTORS:
        xs = [r.summary.get(key) for r in runs]
        n = sum(1 for x, y in zip(xs, ys) if x is not None and y is not None)
        out[key] = (r_squared_quadratic(xs, ys), n)
    return out
