"""RL's Razor analysis on sweep points: Pareto frontiers and forgetting at matched new-task accuracy.

Pure functions over (x, y) points; no I/O. Conventions: ``x`` = new-task accuracy (higher is
better); for frontiers of accuracy pairs ``y`` = old-task (prior-skill) accuracy (higher is better);
for forgetting curves ``y`` = old-task decline (lower is better).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Point = tuple[float, float]


def pareto_frontier(points: Sequence[Point], maximize_y: bool = True) -> list[Point]:
    """Non-dominated points, sorted by x ascending. A point is dominated when another has
    x' >= x and y' >= y (``maximize_y``) or y' <= y (otherwise), with at least one strict.
    Along the returned frontier y strictly falls (maximize) or strictly rises (minimize) with x."""
    pts = [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    sign = 1.0 if maximize_y else -1.0
    frontier: list[Point] = []
    best = -math.inf
    for x, y in sorted(set(pts), key=lambda p: (-p[0], -sign * p[1])):   # x descending
        if sign * y > best:
            frontier.append((x, y))
            best = sign * y
    return frontier[::-1]


def interpolate_many(curve: Sequence[Point], xs, tol: float = 1e-12) -> np.ndarray:
    """Linear interpolation of y at every x of ``xs`` along ``curve`` (sorted by x, distinct x);
    NaN outside its x-range (within ``tol``). A one-point curve answers only at its own x. The one
    interpolation of the code base: ``interpolate``, ``decline_at``, ``verdict.value_at``,
    ``budget.at_target`` and the matched-accuracy curves all call it."""
    xs = np.atleast_1d(np.asarray(xs, dtype=float))
    if not curve:
        return np.full(xs.shape, np.nan)
    cx = np.array([p[0] for p in curve], dtype=float)
    cy = np.array([p[1] for p in curve], dtype=float)
    out = np.interp(np.clip(xs, cx[0], cx[-1]), cx, cy)
    out[(xs < cx[0] - tol) | (xs > cx[-1] + tol)] = np.nan
    return out


def interpolate(curve: Sequence[Point], x: float, tol: float = 1e-12) -> float | None:
    """Linear interpolation of y at ``x`` along ``curve`` (sorted by x); None outside its x-range.
    ``curve`` with one point answers only at exactly that x."""
    y = float(interpolate_many(curve, [x], tol)[0])
    return None if math.isnan(y) else y


def decline_at(points: Sequence[Point], x: float) -> float | None:
    """Old-task decline at new-task accuracy ``x`` along the frontier of (accuracy, decline) points
    (the lowest decline reachable at each accuracy), linearly interpolated; None outside its range."""
    return interpolate(pareto_frontier(points, maximize_y=False), x)


def matched_targets(ranges: Sequence[tuple[float, float]], n: int = 3) -> list[float]:
    """``n`` evenly spaced new-task accuracies inside every family's [min, max] range (their
    overlap); empty when the ranges do not overlap."""
    if not ranges:
        return []
    lo, hi = max(r[0] for r in ranges), min(r[1] for r in ranges)
    if lo > hi + 1e-12:
        return []
    if n == 1 or hi - lo < 1e-9:
        return [(lo + hi) / 2]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]
