"""Pure statistics of a conjecture verdict: paired differences over seeds, their 95% t-interval,
the supported / refuted / inconclusive call, and values at a matched x (e.g. new-segment CTR).

No I/O and no results.json knowledge (``report.stats.conjecture`` reads the runs). Conventions:

- A *prediction* says that a per-seed difference ``d_s = A_s - B_s`` has a sign: ``+1`` (A > B)
  or ``-1`` (A < B). The differences are paired by seed (the same world, the same base policy).
- Interval: ``mean(d) ± t_{0.975, n-1} · sd(d) / √n`` (sample sd, ddof = 1), i.e. the paired
  t-interval. No interval when n < 2.
- Verdict: ``supported`` when the interval excludes 0 on the predicted side, ``refuted`` when it
  excludes 0 on the opposite side, ``inconclusive`` when it contains 0 (or n < 2).
- Matched x: along one learner's points (x, y) of one seed (several sweep points), y at ``x`` by
  linear interpolation between the neighbouring points in x (duplicate x averaged; nothing outside
  the points' x-range). With ``higher_is_better`` given, the points are first reduced to their
  Pareto frontier (higher x is better; y in the given direction; ``report.stats.frontier``), so y at x
  is the best value the learner reaches there — a sweep whose curve folds back (e.g. a learning
  rate so high that the policy collapses and the CTR falls again) does not mix its two branches.
  The matched target of a seed is the midpoint of the overlap of the learners' x-ranges; a seed
  without overlap is left out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from forgetbench.report.runs import num
from forgetbench.report.stats.frontier import interpolate, pareto_frontier
from forgetbench.report.stats.statistics import MeanCI, mean_ci

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"

Point = tuple[float, float]


@dataclass(frozen=True)
class Verdict:
    """A paired difference over seeds, its interval and the call."""
    stats: MeanCI
    sign: int            # predicted sign of the difference: +1 or -1
    call: str            # SUPPORTED | REFUTED | INCONCLUSIVE
    seeds: tuple = ()    # seeds that entered the difference

    @property
    def low(self) -> float | None:
        s = self.stats
        return None if s.half is None else s.mean - s.half

    @property
    def high(self) -> float | None:
        s = self.stats
        return None if s.half is None else s.mean + s.half


def paired_differences(a: Mapping, b: Mapping) -> dict:
    """``{seed: a[seed] - b[seed]}`` over the seeds where both values are present numbers."""
    out = {}
    for seed in a:
        if seed in b:
            x, y = num(a[seed]), num(b[seed])
            if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
                out[seed] = x - y
    return out


def classify(stats: MeanCI, sign: int) -> str:
    """The call for a predicted ``sign`` (+1: difference > 0; -1: difference < 0)."""
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    if stats.n < 2 or stats.half is None or stats.mean is None:
        return INCONCLUSIVE
    lo, hi = stats.mean - stats.half, stats.mean + stats.half
    if lo > 0:
        return SUPPORTED if sign > 0 else REFUTED
    if hi < 0:
        return SUPPORTED if sign < 0 else REFUTED
    return INCONCLUSIVE


def verdict(differences: Mapping, sign: int, level: float = 0.95) -> Verdict:
    """Mean and t-interval of the per-seed differences, and the call for the predicted ``sign``."""
    seeds = tuple(sorted(differences, key=str))
    stats = mean_ci((differences[s] for s in seeds), level)
    return Verdict(stats, sign, classify(stats, sign), seeds)


def compare(a: Mapping, b: Mapping, sign: int) -> Verdict:
    """``verdict(paired_differences(a, b), sign)``."""
    return verdict(paired_differences(a, b), sign)


def mean_of(values_by_learner: Iterable[Mapping]) -> dict:
    """Per seed, the mean over the learners that have a value for that seed (e.g. the off-policy
    learners' mean); seeds no learner has are absent."""
    acc: dict = {}
    for per_seed in values_by_learner:
        for seed, v in per_seed.items():
            v = num(v)
            if v is not None and math.isfinite(v):
                acc.setdefault(seed, []).append(v)
    return {s: sum(vs) / len(vs) for s, vs in acc.items()}


# ----------------------------------------------------------------------------- matched x
def curve(points: Iterable[Point]) -> list[Point]:
    """Finite points sorted by x, duplicate x replaced by the mean of their y."""
    by_x: dict[float, list[float]] = {}
    for x, y in points:
        x, y = num(x), num(y)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y):
            by_x.setdefault(x, []).append(y)
    return [(x, sum(ys) / len(ys)) for x, ys in sorted(by_x.items())]


def value_at(points: Iterable[Point], x: float, tol: float = 1e-9) -> float | None:
    """y at ``x`` by linear interpolation along ``curve(points)``; None outside its x-range (a single
    point answers only at its own x, within ``tol``)."""
    return interpolate(curve(points), x, tol)


def frontier(points: Iterable[Point], higher_is_better: bool) -> list[Point]:
    """The non-dominated points (x higher is better; y higher or lower is better), sorted by x."""
    return pareto_frontier(curve(points), maximize_y=higher_is_better)


def overlap_target(point_sets: Sequence[Iterable[Point]], tol: float = 1e-9) -> float | None:
    """Midpoint of the overlap of the x-ranges of several learners' points; None when a learner
    has no point or the ranges do not overlap."""
    ranges = []
    for pts in point_sets:
        c = curve(pts)
        if not c:
            return None
        ranges.append((c[0][0], c[-1][0]))
    if not ranges:
        return None
    lo, hi = max(r[0] for r in ranges), min(r[1] for r in ranges)
    if lo > hi + tol:
        return None
    return (lo + hi) / 2 if hi >= lo else lo


def matched_values(groups: Mapping[str, Mapping], seeds: Iterable | None = None,
                   higher_is_better: bool | None = None, tol: float = 1e-9) -> tuple[dict, dict]:
    """Per seed, every learner's y at the seed's matched target x.

    ``groups``: learner -> seed -> list of (x, y) points (one per sweep point). With
    ``higher_is_better`` (the direction of y), each learner's points are reduced to their Pareto
    frontier first. Returns ``(values, targets)`` with ``values[learner][seed]`` and
    ``targets[seed]``, over the seeds where every learner has points whose x-ranges overlap.
    """
    names = list(groups)
    if seeds is None:
        common = None
        for name in names:
            s = set(groups[name])
            common = s if common is None else common & s
        seeds = sorted(common or (), key=str)
    values: dict = {n: {} for n in names}
    targets: dict = {}
    for seed in seeds:
        sets = [groups[n].get(seed) or [] for n in names]
        if higher_is_better is not None:
            sets = [frontier(pts, higher_is_better) for pts in sets]
        t = overlap_target(sets, tol)
        if t is None:
            continue
        ys = [value_at(pts, t, tol) for pts in sets]
        if any(y is None for y in ys):
            continue
        targets[seed] = t
        for n, y in zip(names, ys):
            values[n][seed] = y
    return values, targets
