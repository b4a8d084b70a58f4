"""Seed statistics behind the report: Student's t distribution, the mean with its 95% t-interval
(``mean_ci``) and Welch's t-test. The fits (R², correlations) are in ``report.stats.fits``.

Pure Python + numpy; no plotting here (``report.render``), no markdown (``report.sections``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

import numpy as np

from forgetbench.report.runs.values import num


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc_reg(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc_reg(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=None)
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (e.g. ``t_quantile(0.975, 1) = 12.706``), by bisection on the CDF."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class MeanCI:
    """Mean over seeds with the 95% t-interval half-width (``None`` when n < 2)."""
    mean: float | None
    half: float | None
    n: int
    sd: float | None = None


def mean_ci(values: Iterable[Any], level: float = 0.95) -> MeanCI:
    """Mean and half-width ``t_{(1+level)/2, n-1} * sd / sqrt(n)`` (sample sd, ddof=1) of the
    non-missing values; n = 1 gives no half-width, n = 0 no mean."""
    xs = [v for v in (num(x) for x in values) if v is not None]
    n = len(xs)
    if n == 0:
        return MeanCI(None, None, 0)
    m = float(np.mean(xs))
    if n == 1:
        return MeanCI(m, None, 1)
    sd = float(np.std(xs, ddof=1))
    return MeanCI(m, t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n), n, sd)


def welch_p(a: MeanCI, b: MeanCI) -> float | None:
    """Two-sided p-value of Welch's t-test between two seed samples (None when either n < 2)."""
    if a.n < 2 or b.n < 2 or a.sd is None or b.sd is None:
        return None
    va, vb = a.sd ** 2 / a.n, b.sd ** 2 / b.n
    if va + vb == 0.0:
        return 0.0 if a.mean != b.mean else 1.0
    t = (a.mean - b.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
    return 2.0 * (1.0 - t_cdf(abs(t), df))
