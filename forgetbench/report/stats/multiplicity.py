"""Corrections for many comparisons at once (pure numpy, no I/O).

- ``holm(p)``: Holm's step-down adjusted p-values. With p sorted ascending, p_(1) <= ... <= p_(m),
  adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), returned in the input order; rejecting
  adj <= alpha controls the family-wise error rate at alpha.
- ``max_t(diffs)``: a joint bootstrap over the units (seeds) shared by every comparison: one draw
  resamples the units with replacement and recomputes every comparison's mean difference m_j^b.
  se_j = sd over draws of m_j^b; T^b = max_j |m_j^b - m_j| / se_j; c = the ``level`` quantile of T^b;
  the simultaneous interval of comparison j is m_j +- c se_j (all cover together with probability
  ~ ``level``). Its bootstrap p-value is p_j = (1 + #{b: |m_j^b - m_j| >= |m_j|}) / (B + 1) (the
  draws centred on the estimate stand for the null), which ``holm`` then adjusts. A comparison whose
  draws do not vary (se = 0) gets the point interval [m, m] and p = 1 / (B + 1) when m != 0 else 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj = np.maximum.accumulate(adj)
    out = np.empty(m)
    out[order] = adj
    return out.tolist()


@dataclass(frozen=True)
class Simultaneous:
    """One comparison: estimate, its simultaneous interval, bootstrap p, Holm-adjusted p, units."""
    estimate: float
    low: float
    high: float
    p: float
    p_holm: float
    units: int


def max_t(diffs: Sequence[Mapping[Hashable, float]], level: float = 0.95, n_boot: int = 4000,
          seed: int = 0) -> tuple[list[Simultaneous], float]:
    """Simultaneous intervals and Holm-adjusted bootstrap p-values of the mean of each per-unit
    difference map, over the units every map has; returns (one per map, the critical value c)."""
    if not diffs:
        return [], float("nan")
    units = sorted(set.intersection(*(set(d) for d in diffs)), key=str)
    if len(units) < 2:
        raise ValueError(f"max_t needs >= 2 shared units, got {len(units)}")
    x = np.array([[d[u] for u in units] for d in diffs], dtype=float)       # (J, n)
    est = x.mean(1)
    idx = np.random.default_rng(seed).integers(0, len(units), size=(n_boot, len(units)))
    boot = x[:, idx].mean(2)                                                 # (J, B)
    dev = np.abs(boot - est[:, None])
    se = boot.std(1, ddof=1)
    live = se > 0
    t = np.where(live[:, None], dev / np.where(live, se, 1.0)[:, None], 0.0)
    crit = float(np.quantile(t.max(0), level)) if live.any() else 0.0
    p = np.where(live, (1 + (dev >= np.abs(est)[:, None]).sum(1)) / (n_boot + 1),
                 np.where(est != 0, 1 / (n_boot + 1), 1.0))
    adj = holm(p.tolist())
    out = [Simultaneous(float(e), float(e - crit * s), float(e + crit * s), float(pj), float(a), len(units))
           for e, s, pj, a in zip(est, se, p, adj)]
    return out, crit
