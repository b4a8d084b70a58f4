"""Recommender sweeps with a budget axis: sample-efficiency curves, and forgetting and defects at
matched new-segment CTR across the high range with each learner's budget beside its value.

- **Budget** of a run = interactions per stage it was given (``runs.readings.budget``).
- **Sample efficiency**: per learner and budget, the point (learning rate) with the highest
  seed-mean final new-segment CTR/oracle; its mean ± 95% t-interval over seeds, and the same for
  the lowest new-segment CTR/oracle over the stages (``min_stage_new``: "on every stage").
- **Matched CTR, high range**: at each target CTR/oracle in ``HIGH_TARGETS``, per seed, each
  learner's metric along its Pareto frontier of (CTR/oracle, metric) over *all* its points (every
  learning rate and budget; the best value it reaches at that CTR), linearly interpolated, and its
  budget interpolated between the same two frontier points. The difference is off-policy (per seed
  the mean of ``ctr`` and ``next_item``; both must reach the target) minus the on-policy side
  (``report.stats.conjecture.compared``); paired 95% t-interval and call as in the Conjecture section.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.report.runs import num
from forgetbench.report.runs.readings import budget, metric_value, min_stage_new
from forgetbench.report.stats.conjecture import NEW_CTR, OFF_POLICY, ONPOLICY, PREDICTIONS, Prediction, best_point
from forgetbench.report.stats.frontier import interpolate
from forgetbench.report.stats.statistics import MeanCI, mean_ci
from forgetbench.report.stats.verdict import Verdict, frontier, verdict

HIGH_TARGETS = (0.80, 0.84, 0.88, 0.90, 0.92)
#: (prediction tag, metric): the forgetting and exposure predictions, off-policy minus on-policy.
MATCHED = tuple(p for p in PREDICTIONS if p.tag in ("a", "b", "c"))


def has_budget_axis(rows: dict[str, list[tuple]]) -> bool:
    """Whether some learner of ``efficiency_rows`` was run at two budgets or more (the section shows)."""
    return any(len(r) > 1 for r in rows.values())


def efficiency_rows(pts: dict[str, dict]) -> dict[str, list[tuple]]:
    """learner -> [(budget, point, final CTR MeanCI, min-stage CTR MeanCI)] sorted by budget."""
    out: dict[str, list[tuple]] = {}
    for name, points in pts.items():
        by_budget: dict[float, list[str]] = {}
        for point, seeds in points.items():
            b = mean_ci(budget(r) for r in seeds.values()).mean
            if b is not None:
                by_budget.setdefault(b, []).append(point)
        rows = []
        for b, cands in sorted(by_budget.items()):
            best = best_point({p: points[p] for p in cands})
            rs = list(points[best].values())
            rows.append((b, best, mean_ci(r.summary.get(NEW_CTR) for r in rs),
                         mean_ci(min_stage_new(r) for r in rs)))
        if rows:
            out[name] = rows
    return out


def at_target(points: list[tuple], t: float, higher_is_better: bool) -> tuple[float, float] | None:
    """(metric, budget) at CTR ``t`` along the frontier of (CTR, metric, budget) points, both linearly
    interpolated between the same two frontier points (``frontier.interpolate``); None outside the
    points' CTR range. Below the frontier's first CTR (inside the range) the answer is that first
    frontier point: it dominates every point at a lower CTR."""
    pts, by_x = [], {}
    for x, y, b in points:
        if None not in (num(x), num(y), num(b)):
            pts.append((float(x), float(y)))
            by_x.setdefault(float(x), []).append(float(b))
    front = frontier(pts, higher_is_better)        # duplicate x: mean y (``curve``), so mean budget
    if not front or t < min(by_x) - 1e-9 or t > front[-1][0] + 1e-9:
        return None
    cost = [(x, sum(by_x[x]) / len(by_x[x])) for x, _ in front]
    x = max(t, front[0][0])
    return interpolate(front, x, 1e-9), interpolate(cost, x, 1e-9)


def matched_high(pts: dict[str, dict], metric: str, higher_is_better: bool, t: float, on: str):
    """Per-seed off - on differences at CTR ``t``, and each side's (values, budgets) by seed."""
    def triples(name: str) -> dict:
        out: dict = {}
        for seeds in pts[name].values():
            for s, r in seeds.items():
                out.setdefault(s, []).append((r.summary.get(NEW_CTR), metric_value(r, metric), budget(r)))
        return out

    offs = [n for n in OFF_POLICY if n in pts]
    groups = {n: triples(n) for n in (*offs, on)}
    diffs, side = {}, {"off": ([], []), "on": ([], [])}
    for s in groups[on]:
        got = {n: at_target(groups[n].get(s, []), t, higher_is_better) for n in groups}
        if not offs or any(v is None for v in got.values()):
            continue
        off_y = sum(got[n][0] for n in offs) / len(offs)
        diffs[s] = off_y - got[on][0]
        side["off"][0].append(off_y)
        side["off"][1].append(sum(got[n][1] for n in offs) / len(offs))
        side["on"][0].append(got[on][0])
        side["on"][1].append(got[on][1])
    return diffs, side


@dataclass(frozen=True)
class HighRange:
    """One matched-CTR comparison in the high range: off-policy minus on-policy at CTR ``target``."""
    target: float
    prediction: Prediction
    sign: int                   # predicted sign of off − on
    verdict: Verdict | None     # None: no seed where the target is inside every learner's CTR range
    off: tuple[MeanCI, MeanCI] | None   # (value, budget) over seeds
    on: tuple[MeanCI, MeanCI] | None


def high_range(pts: dict[str, dict]) -> list[HighRange]:
    """Every target of ``HIGH_TARGETS`` × prediction of ``MATCHED`` (``pts`` from
    ``conjecture.compared``: the ``onpolicy`` side stands for the strongest on-policy learner)."""
    out = []
    for t in HIGH_TARGETS:
        for p in MATCHED:
            diffs, side = matched_high(pts, p.metric, p.higher_is_better, t, ONPOLICY)
            sign = p.sign if p.a == "off" else -p.sign
            if not diffs:
                out.append(HighRange(t, p, sign, None, None, None))
                continue
            off, on = ((mean_ci(side[k][0]), mean_ci(side[k][1])) for k in ("off", "on"))
            out.append(HighRange(t, p, sign, verdict(diffs, sign), off, on))
    return out
