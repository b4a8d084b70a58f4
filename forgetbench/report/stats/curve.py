"""RL's Razor as a curve: each family's old-task decline at matched new-task accuracy, and its
difference from the reference family (``sft``), over the whole common accuracy range, with 95%
hierarchical-bootstrap bands (``report.stats.bootstrap``: base replicas -> seeds -> eval examples).

Per unit u = (base replica, seed) and family f, the points are the runs' (new-task accuracy, old-task
decline) at their last stage, recomputed from ``per_example`` under the replicate's example weights,
along their (accuracy, decline) Pareto frontier (``frontier.pareto_frontier``, lowest decline), which
for one-stage runs starts at the base itself (its new-task accuracy, decline 0: no training) when
the base lies left of the frontier, linearly interpolated (``frontier.interpolate_many``)::

    decline_f,u(a),    diff_f,u(a) = decline_ref,u(a) − decline_f,u(a)   (> 0: f forgets less)

and each curve is the mean over bases of the mean over that base's seeds of the units reaching a
(``bootstrap.nested_mean``). A curve is shown where the observed data have a unit of every base;
``average`` is a difference curve's mean over the grid points (step 0.01) where it is shown.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forgetbench.measures.continual import reference_rows
from forgetbench.report.runs import Run, base_of, family_of, trained_sequence
from forgetbench.report.stats.bootstrap import (LEVELS, Draw, Interval, bootstrap, nested_mean, stacked_correctness,
                                                varying_levels)
from forgetbench.report.stats.frontier import interpolate_many, pareto_frontier

#: Fixed accuracies of the report's table.
ACCURACIES = (0.6, 0.7, 0.8, 0.9, 0.95)
GRID = np.round(np.arange(0.0, 1.0 + 1e-9, 0.01), 2)


@dataclass
class Scored:
    """The per-example correctness of a set of runs, stacked per task so that one replicate's
    accuracies are one matrix product per task."""
    rows: dict[str, list[str]]        # task -> stacked correctness strings
    runs: list[tuple]                  # (family, unit, new (task, i), anchor (task, i) | None, old [(task, i_ref, i_now)])

    @classmethod
    def of(cls, runs: list[Run]) -> "Scored":
        rows: dict[str, list[str]] = {}

        def ref(task: str, bits: str) -> tuple[str, int]:
            rows.setdefault(task, []).append(bits)
            return task, len(rows[task]) - 1

        out = []
        for r in runs:
            C, T = r.data.get("per_example"), r.trained
            if not isinstance(C, list) or T < 1 or len(C) != len(r.stages):
                continue
            new = r.column(r.stages[T])
            if new is None or new not in C[T] or new not in C[0]:
                continue
            refs = reference_rows(r.stages, r.tasks, r.planned or ())[T - 1]
            old = []                                   # (task, its reference row's index, the last row's)
            for j, s in refs.items():
                t = r.tasks[j]
                if t in C[s] and t in C[T]:
                    old.append((t, ref(t, C[s][t])[1], ref(t, C[T][t])[1]))
            anchor = ref(new, C[0][new]) if T == 1 else None
            out.append((family_of(r), (base_of(r), r.seed), ref(new, C[T][new]), anchor, old))
        return cls(rows, out)

    def n_examples(self) -> dict[str, int]:
        return {t: len(v[0]) for t, v in self.rows.items()}

    def points(self, d: Draw) -> dict[tuple, tuple[list, tuple | None]]:
        """(family, unit) -> ([(new-task accuracy, old-task decline) per run], the base's (accuracy, 0)
        or None) under the draw's example weights."""
        acc = {t: d.accuracy(t, m) for t, m in self._bits.items()}
        pts: dict[tuple, tuple[list, tuple | None]] = {}
        for fam, unit, (tn, i), anchor, old in self.runs:
            declines = [acc[t][a] - acc[t][b] for t, a, b in old]
            run_pts, base = pts.get((fam, unit), ([], None))
            run_pts.append((float(acc[tn][i]), float(np.mean(declines)) if declines else 0.0))
            pts[(fam, unit)] = (run_pts, base if anchor is None else (float(acc[anchor[0]][anchor[1]]), 0.0))
        return pts

    def __post_init__(self) -> None:
        self._bits = stacked_correctness(self.rows)


@dataclass(frozen=True)
class Curves:
    """One trained-task group: the family curves and the differences from ``reference``."""
    trained: str
    reference: str
    grid: np.ndarray
    decline: dict[str, Interval]       # family -> decline curve over ``grid``
    diff: dict[str, Interval]          # family -> reference − family over ``grid``
    shown: dict[str, np.ndarray]       # family -> mask of the grid where every base has a unit
    n_units: dict[str, np.ndarray]     # family -> observed units reaching each grid point (both families)
    average: dict[str, Interval]       # family -> the difference averaged over its shown range (constant rows)

    def mean_diff(self, family: str) -> tuple[float, float, float] | None:
        """(estimate, low, high) of the difference averaged over the grid points where it is shown."""
        iv = self.average[family]
        return None if not np.isfinite(iv.estimate[0]) else (float(iv.estimate[0]), float(iv.low[0]), float(iv.high[0]))

    def at(self, family: str, a: float, kind: str = "diff") -> tuple[float, float, float] | None:
        """(estimate, low, high) at accuracy ``a`` (nearest grid point), None where not shown."""
        i = int(np.argmin(np.abs(self.grid - a)))
        iv = (self.diff if kind == "diff" else self.decline)[family]
        if not self.shown[family][i] or not np.isfinite(iv.estimate[i]):
            return None
        return float(iv.estimate[i]), float(iv.low[i]), float(iv.high[i])


def frontier_curve(run_points: list, base: tuple | None) -> list[tuple[float, float]]:
    """The runs' (accuracy, decline) Pareto frontier, preceded by ``base`` when it lies left of it."""
    front = pareto_frontier(run_points, maximize_y=False)
    if base is not None and (not front or base[0] < front[0][0]):
        front = [base] + front
    return front


def unit_curves(points: dict[tuple, tuple], families: list[str], reference: str, grid: np.ndarray) -> tuple[dict, dict]:
    """Per family, unit -> decline curve over ``grid``; and unit -> reference − family."""
    dec: dict[str, dict] = {f: {} for f in families}
    for (fam, unit), (pts, base) in points.items():
        if fam in dec:
            dec[fam][unit] = interpolate_many(frontier_curve(pts, base), grid)
    diff = {f: {u: dec[reference][u] - y for u, y in dec[f].items() if u in dec[reference]}
            for f in families if f != reference}
    return dec, diff


def _mean_or_nan(values, groups, size: int) -> np.ndarray:
    """``nested_mean`` over the drawn groups; NaN everywhere when no drawn unit has the family (a draw
    of bases / seeds that misses it, in an unfinished grid)."""
    m = nested_mean(values, groups) if values else np.array([])
    return m if m.size else np.full(size, np.nan)


def curves(runs: list[Run], reference: str = "sft", n_boot: int = 1000, seed: int = 0,
           levels=LEVELS, grid: np.ndarray = GRID) -> list[Curves]:
    """The curves of every trained-task group with two families or more, one of them the reference
    (the family named ``reference``, else the family of the method ``reference``, e.g. ``sft_control``)."""

    groups: dict[str, list[Run]] = {}
    for r in runs:
        if r.complete and r.data.get("family"):
            groups.setdefault(trained_sequence(r), []).append(r)
    out = []
    for trained, rs in groups.items():
        try:
            scored = Scored.of(rs)
        except ValueError:                                 # eval sets differ: no shared examples to resample
            continue
        present = {f for f, *_ in scored.runs}
        # the reference family, else (e.g. a control task's group) the family of the reference method
        ref = reference if reference in present else min(
            (family_of(r) for r in rs if r.method == reference and family_of(r) in present), default=None)
        if ref is None or len(present) < 2:
            continue
        families = sorted(present, key=lambda f: (f != ref, f))
        clusters: dict = {}
        for _, (b, s), *_ in scored.runs:
            if s not in clusters.setdefault(b, []):
                clusters[b].append(s)
        others = families[1:]
        dec, diff = unit_curves(scored.points(Draw((), {})), families, ref, grid)
        shown, n_units = {}, {}
        for f in families:
            finite = {u: np.isfinite(y) for u, y in (dec[f] if f == ref else diff[f]).items()}
            n_units[f] = np.sum([m for m in finite.values()] or [np.zeros(grid.size)], axis=0).astype(int)
            per_base = [np.any([m for u, m in finite.items() if u[0] == b] or [np.zeros(grid.size, bool)], axis=0)
                        for b in clusters]
            shown[f] = np.all(per_base, axis=0)

        def statistic(d: Draw) -> np.ndarray:
            dec, diff = unit_curves(scored.points(d), families, ref, grid)
            rows = [_mean_or_nan(dec[f], d.groups, grid.size) for f in families]
            rows += [_mean_or_nan(diff[f], d.groups, grid.size) for f in others]
            for f, row in zip(others, rows[len(families):]):
                vals = row[shown[f]] if row.size else row
                vals = vals[np.isfinite(vals)]
                rows.append(np.full(grid.size, vals.mean() if vals.size else np.nan))
            return np.vstack(rows)

        varying = varying_levels(clusters, levels)    # one replica with one seed: no interval
        iv = bootstrap(statistic, clusters, scored.n_examples(), n_boot if varying else 0, seed, varying)
        split = lambda k: Interval(iv.estimate[k], iv.low[k], iv.high[k], iv.n_boot, iv.levels, iv.level)  # noqa: E731
        nf, no = len(families), len(others)
        out.append(Curves(trained, ref, grid, {f: split(k) for k, f in enumerate(families)},
                          {f: split(nf + k) for k, f in enumerate(others)}, shown, n_units,
                          {f: split(nf + no + k) for k, f in enumerate(others)}))
    return out
