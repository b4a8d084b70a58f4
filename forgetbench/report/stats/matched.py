"""Old-task decline at matched new-task accuracy on sweep points, per (base replica, seed) unit, with
t-intervals over units (the sweep and on-policy-pair sections), and the seed means of each sweep
point (the frontier plots).

A family's decline at accuracy ``a`` for one unit interpolates that unit's (accuracy, decline) points
along their frontier (``frontier.decline_at``); the targets span the overlap of two families'
seed-mean accuracy ranges (``frontier.matched_targets``). The hierarchical-bootstrap version over
the whole accuracy range is ``report.stats.curve``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from forgetbench.report.runs import ACC, DECLINE, Run, family_of, group_runs, pooled_label, trained_sequence, unit_of
from forgetbench.report.stats.frontier import decline_at, matched_targets
from forgetbench.report.stats.statistics import MeanCI, mean_ci


def unit_declines(rs: list[Run], a: float) -> dict:
    """{(base replica, seed): decline at accuracy ``a`` along that unit's frontier} (units out of range
    omitted)."""
    seeds: dict = {}
    for r in rs:
        seeds.setdefault(unit_of(r), []).append((r.summary[ACC], r.summary[DECLINE]))
    values = {s: decline_at(pts, a) for s, pts in seeds.items()}
    return {s: v for s, v in values.items() if v is not None}


def mean_range(rs: list[Run]) -> tuple[float, float]:
    """[min, max] of the seed-mean new-task accuracy over a family's points."""
    points: dict[str, list[float]] = {}
    for r in rs:
        points.setdefault(pooled_label(r), []).append(r.summary[ACC])
    means = [sum(v) / len(v) for v in points.values()]
    return min(means), max(means)


@dataclass(frozen=True)
class Matched:
    """Two families' per-unit declines at one matched new-task accuracy."""
    accuracy: float
    first: dict          # unit -> the first family's decline (units reaching ``accuracy``)
    second: dict         # unit -> the second family's decline

    @property
    def first_stats(self) -> MeanCI:
        """Mean ± t-interval over units of the first family's decline."""
        return mean_ci(self.first.values())

    @property
    def second_stats(self) -> MeanCI:
        """Mean ± t-interval over units of the second family's decline."""
        return mean_ci(self.second.values())

    @property
    def n_paired(self) -> int:
        """Units both families reach."""
        return sum(1 for s in self.first if s in self.second)

    def difference(self, reverse: bool = False) -> MeanCI:
        """first − second (``reverse``: second − first), paired by unit over the first's units."""
        a, b = (self.second, self.first) if reverse else (self.first, self.second)
        return mean_ci([a[s] - b[s] for s in self.first if s in self.second])


def matched_pair(first: list[Run], second: list[Run], n_targets: int = 3) -> tuple[list, list[Matched]]:
    """Both families' seed-mean accuracy ranges, and their declines at ``n_targets`` accuracies inside
    both (empty when the ranges do not overlap)."""
    spans = [mean_range(first), mean_range(second)]
    return spans, [Matched(a, unit_declines(first, a), unit_declines(second, a))
                   for a in matched_targets(spans, n_targets)]


def by_trained_family(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """trained sequence -> family -> runs, over the runs with a final new-task accuracy and decline."""
    out: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        if r.summary.get(ACC) is not None and r.summary.get(DECLINE) is not None:
            out.setdefault(trained_sequence(r), {}).setdefault(family_of(r), []).append(r)
    return out


def point_means(runs: list[Run], y_key: str, family: Callable[[Run], str] = family_of) -> dict[str, list]:
    """family -> [(new-task accuracy MeanCI, ``y_key`` MeanCI)] per sweep point (the point pools its
    replicas and seeds), over the points where both means exist; every family is a key."""
    out: dict[str, list] = {}
    for (fam, _), rs in group_runs(runs, key=lambda r: (family(r), pooled_label(r))).items():
        x, y = mean_ci(r.summary.get(ACC) for r in rs), mean_ci(r.summary.get(y_key) for r in rs)
        out.setdefault(fam, [])
        if x.mean is not None and y.mean is not None:
            out[fam].append((x, y))
    return out
