"""The report's "Conjecture" section for recommender experiments: does the off-policy supervised
recommender's known trouble (forgetting, popularity bias, narrow coverage) come from learning
off-policy, and what does the on-policy learner pay instead?

Which runs count: complete ``recsys`` runs of the experiment whose sweep family is absent or equal
to their method (other families, e.g. ``onpolicy_kl``, are extra analyses and stay out), training
the experiment's most common stage sequence. Learners:

- **off-policy** = ``ctr`` and ``next_item`` (trained on the logs of the previously deployed
  policy): per seed, the mean of the two learners' values (over those present in the runs; a seed
  counts when every present one has it);
- **ips** (off-policy with capped importance weights and the top-K correction) on its own;
  ``offpolicy_pos`` (``onpolicy_pos``'s objective on the logs) is in the learners table and the
  factorial section (``report.stats.recsys_factorial``), not in the predictions;
- **the on-policy side** = the strongest on-policy RL learner present (``onpolicy`` GRPO-style,
  ``onpolicy_pg``, ``onpolicy_pos``): the one whose best point has the highest seed-mean final
  new-segment CTR/oracle (chosen by how much it learns, never by its forgetting), named in the
  table. ``self_sup`` (on-policy data, supervised loss) is not in the predictions; it and the
  other on-policy learners are in the learners table.

A *point* of a learner is one run directory holding its seeds (``<output_dir>/<method>`` without a
sweep, ``<output_dir>/<method>/<label>`` per sweep point, or any directory gathered under the
report's output directory): several points per learner make a sweep.

Comparisons (every difference is paired by seed; 95% t-interval and call: ``report.stats.verdict``):

- **best-CTR point**: each learner at its point with the highest seed-mean final new-segment
  accuracy (its only point without a sweep);
- **matched new-segment CTR** (when some learner has ≥ 2 points): pair by pair (each off-policy
  learner with the learner it is compared with), per seed, both learners' values at the midpoint of
  the overlap of their new-segment accuracy ranges, read off each learner's Pareto frontier of
  (accuracy, metric) points (the best value of the metric it reaches at that accuracy, linearly
  interpolated; ``report.stats.verdict``); the off-policy difference of a seed is the mean of its pairs'
  differences (every pair must overlap in that seed). New-segment accuracy = exact CTR / oracle CTR
  on the segment trained last; within a seed the oracle CTR is the same for every learner, so this
  matches CTR itself;
- **matched policy entropy** (predictions b, c, e — the exposure-side ones, where a collapsed policy
  would win or lose by its entropy alone): the same pairing with x = the final policy's mean
  entropy, but plain linear interpolation between the points sorted by entropy (no frontier:
  entropy is a covariate held fixed, not something to optimise).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from forgetbench.report.runs import ACC, Run, family_of, planned_tasks
from forgetbench.report.runs.readings import metric_value
from forgetbench.report.stats.statistics import MeanCI, mean_ci
from forgetbench.report.stats.verdict import Verdict, compare, matched_values, mean_of, paired_differences, verdict

OFF_POLICY = ("ctr", "next_item")
IPS, ONPOLICY = "ips", "onpolicy"
ON_POLICY_RL = (ONPOLICY, "onpolicy_pg", "onpolicy_pos")
LEARNERS = (*OFF_POLICY, IPS, "offpolicy_pos", *ON_POLICY_RL, "self_sup")
NEW_CTR = ACC


@dataclass(frozen=True)
class Prediction:
    tag: str
    text: str
    metric: str          # a summary key or a final-stage defect name
    a: str               # "off", "ips" or "onpolicy": difference = a - b
    b: str
    sign: int            # predicted sign of a - b
    higher_is_better: bool   # direction of the metric (for the matched-x frontiers)
    entropy_matters: bool = False


PREDICTIONS: tuple[Prediction, ...] = (
    Prediction("a", "off-policy learners forget old segments more", "final_old_task_decline",
               "off", ONPOLICY, +1, False),
    Prediction("b", "off-policy learners amplify popularity bias", "popularity_lift",
               "off", ONPOLICY, +1, False, True),
    Prediction("c", "off-policy learners narrow catalogue coverage", "coverage",
               "off", ONPOLICY, -1, True, True),
    Prediction("d", "IPS recovers part of the forgetting gap (forgets less than ctr/next_item)",
               "final_old_task_decline", "off", IPS, +1, False),
    Prediction("d′", "… but only part of it (ips still forgets more than onpolicy)",
               "final_old_task_decline", IPS, ONPOLICY, +1, False),
    Prediction("e", "onpolicy pays in exposure concentration", "exposure_gini",
               ONPOLICY, "off", +1, False, True),
)
EXTRA_COLUMNS = ("popularity_lift", "coverage", "exposure_gini", "entropy")


def eligible(runs: list[Run]) -> list[Run]:
    """Complete recsys runs of the learners' own families training the most common sequence."""
    keep = [r for r in runs if r.domain == "recsys" and r.complete and r.method in LEARNERS
            and family_of(r) == r.method]
    seqs: dict[tuple, int] = {}
    for r in keep:
        key = tuple(planned_tasks(r.data.get("config") or {}, r.domain) or r.stages[1:])
        seqs[key] = seqs.get(key, 0) + 1
    if not seqs:
        return []
    common = max(seqs, key=lambda k: seqs[k])
    return [r for r in keep
            if tuple(planned_tasks(r.data.get("config") or {}, r.domain) or r.stages[1:]) == common]


def points_of(runs: list[Run], out_dir: Path) -> dict[str, dict[str, dict]]:
    """learner -> point (run directory relative to ``out_dir``) -> seed -> run."""
    out: dict[str, dict[str, dict]] = {}
    for r in runs:
        point = os.path.relpath(r.path.parent.parent, out_dir)
        out.setdefault(r.method, {}).setdefault(point, {})[r.seed] = r
    return out


def best_point(points: dict[str, dict]) -> str:
    """The point with the highest seed-mean final new-segment accuracy (ties: first by name)."""
    def score(p: str) -> float:
        m = mean_ci(r.summary.get(NEW_CTR) for r in points[p].values()).mean
        return -1.0 if m is None else m
    return max(sorted(points), key=score)


def strongest_onpolicy(pts: dict[str, dict]) -> str | None:
    """The on-policy RL learner whose best point has the highest seed-mean final new-segment
    accuracy (ties: the first of ``ON_POLICY_RL``); None when none has runs."""
    def best(name: str) -> float:
        m = mean_ci(r.summary.get(NEW_CTR) for r in pts[name][best_point(pts[name])].values()).mean
        return -1.0 if m is None else m
    present = [n for n in ON_POLICY_RL if n in pts]
    return max(present, key=best) if present else None


def compared(pts: dict[str, dict]) -> tuple[dict[str, dict], str | None]:
    """The points the predictions compare: the learners', with the ``onpolicy`` side standing for
    ``strongest_onpolicy`` (returned as the second value)."""
    on = strongest_onpolicy(pts)
    return ({**pts, ONPOLICY: pts[on]} if on else dict(pts)), on


def _side(side: str, per_learner: dict[str, dict]) -> dict:
    """Per-seed values of one side: a learner's, or the off-policy learners' mean over the seeds
    every present off-policy learner has."""
    if side != "off":
        return per_learner.get(side, {})
    present = [per_learner[name] for name in OFF_POLICY if name in per_learner]
    if not present:
        return {}
    seeds = set.intersection(*(set(v) for v in present))
    return {s: v for s, v in mean_of(present).items() if s in seeds}


def _learners_of(p: Prediction) -> list[str]:
    names: list[str] = []
    for side in (p.a, p.b):
        names += list(OFF_POLICY) if side == "off" else [side]
    return names


def _best_values(pts: dict, p: Prediction) -> dict[str, dict]:
    return {name: {s: metric_value(r, p.metric) for s, r in pts[name][best_point(pts[name])].items()}
            for name in _learners_of(p) if name in pts}


def _matched(pts: dict, p: Prediction, x_of: Callable[[Run], float | None],
             use_frontier: bool) -> tuple[dict, list]:
    """Per-seed differences a - b at matched x, pair by pair (see the module docstring), and the
    targets used."""
    def group(name: str) -> dict:
        by_seed: dict = {}
        for seed_runs in pts[name].values():
            for s, r in seed_runs.items():
                by_seed.setdefault(s, []).append((x_of(r), metric_value(r, p.metric)))
        return by_seed

    side = {k: [n for n in (OFF_POLICY if k == "off" else (k,)) if n in pts] for k in (p.a, p.b)}
    per_pair, targets = [], []
    for a in side[p.a]:
        for b in side[p.b]:
            values, t = matched_values({a: group(a), b: group(b)},
                                       higher_is_better=p.higher_is_better if use_frontier else None)
            per_pair.append(paired_differences(values[a], values[b]))
            targets.append(t)
    if not per_pair:
        return {}, []
    seeds = set.intersection(*(set(d) for d in per_pair))
    return ({s: sum(d[s] for d in per_pair) / len(per_pair) for s in seeds},
            [t[s] for t in targets for s in seeds])


def _entropy(r: Run) -> float | None:
    return metric_value(r, "entropy")


@dataclass(frozen=True)
class Comparison:
    """One way a prediction was compared: ``how`` (``best-CTR point`` or ``matched <x>``), the verdict
    (None when it could not be made, ``why`` says why) and the matched targets (per pair and seed)."""
    prediction: Prediction
    how: str
    verdict: Verdict | None
    why: str = ""
    targets: tuple = ()


@dataclass(frozen=True)
class LearnerPoint:
    """A learner's point as compared: seeds, whether it is its best-CTR point among several, and the
    seed statistics of ``NEW_CTR``, ``final_old_task_decline`` and the ``EXTRA_COLUMNS``."""
    learner: str
    point: str
    best: bool
    n: int
    cells: tuple[MeanCI, ...]


def conjecture(runs: list[Run], out_dir: Path) -> tuple[list[Comparison], list[LearnerPoint], bool, str | None]:
    """(comparisons per prediction, the learners' points, swept, the on-policy learner compared)."""
    all_pts = points_of(eligible(runs), out_dir)
    pts, on = compared(all_pts)
    swept = any(len(p) > 1 for p in pts.values())
    rows = []
    for p in PREDICTIONS:
        if not all(n in pts for n in (p.a, p.b) if n != "off") or not any(n in pts for n in OFF_POLICY):
            rows.append(Comparison(p, "best-CTR point", None, "a learner of this comparison has no runs"))
            continue
        best = _best_values(pts, p)
        rows.append(Comparison(p, "best-CTR point", compare(_side(p.a, best), _side(p.b, best), p.sign)))
        modes = [("new-segment CTR/oracle", lambda r: r.summary.get(NEW_CTR), True)] if swept else []
        if swept and p.entropy_matters:
            modes.append(("policy entropy", _entropy, False))
        for label, x_of, use_frontier in modes:
            diffs, targets = _matched(pts, p, x_of, use_frontier)
            if not diffs:
                rows.append(Comparison(p, f"matched {label}", None, "no seed where the learners' ranges overlap"))
                continue
            rows.append(Comparison(p, f"matched {label}", verdict(diffs, p.sign), targets=tuple(targets)))
    learners = []
    for name in LEARNERS:
        for point, seeds in sorted(all_pts.get(name, {}).items()):
            rs = list(seeds.values())
            cells = tuple(mean_ci(metric_value(r, k) for r in rs) for k in
                          (NEW_CTR, "final_old_task_decline", *EXTRA_COLUMNS))
            best = len(all_pts[name]) > 1 and point == best_point(all_pts[name])
            learners.append(LearnerPoint(name, point, best, len(rs), cells))
    return rows, learners, swept, on
