"""Fits and correlations of paired samples: the quadratic least-squares fit and its R², the linear
R², average ranks, Pearson and Spearman correlation, and the partial correlation given a third
variable. Pure numpy; no I/O."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from forgetbench.report.runs.values import num


def r_squared_quadratic(x: Sequence[Any], y: Sequence[Any]) -> float | None:
    """R² = 1 - SS_res/SS_tot of the least-squares fit y ≈ a + b·x + c·x² over the pairs where both
    values are present. ``None`` when undefined: fewer than 3 distinct x values or constant y."""
    pts = [(num(a), num(b)) for a, b in zip(x, y)]
    pts = [(a, b) for a, b in pts if a is not None and b is not None
           and math.isfinite(a) and math.isfinite(b)]
    return r_squared_quadratic_finite(np.array([a for a, _ in pts], dtype=np.float64),
                                      np.array([b for _, b in pts], dtype=np.float64))


def r_squared_quadratic_finite(xs: np.ndarray, ys: np.ndarray) -> float | None:
    """:func:`r_squared_quadratic` of two float arrays already known to be finite (the bootstrap's inner loop)."""
    if len(np.unique(xs)) < 3:
        return None
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    if ss_tot == 0.0:
        return None
    design = np.stack([np.ones_like(xs), xs, xs * xs], axis=1)
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    ss_res = float(np.sum((ys - design @ coef) ** 2))
    return 1.0 - ss_res / ss_tot


def quadratic_fit(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Coefficients (c, b, a) of the least-squares quadratic, highest power first (np.polyval order)."""
    return np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 2)


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


def partial_correlation(rxy: float | None, rxz: float | None, ryz: float | None) -> float | None:
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
    return partial_correlation(pearson(rx, ry), pearson(rx, rz), pearson(ry, rz))


def r_squared_linear(x, y) -> float | None:
    r = pearson(x, y) if len(x) >= 3 else None
    return None if r is None else r * r
