"""The recommender's 2 x 2: which data (the previous policy's logs / the learner's own slates) and
which loss (likelihood / clicked-position policy gradient) moves each measure.

Cells (per seed, each learner at its best-CTR point, ``conjecture.best_point``; a cell with two
learners is their per-seed mean):

                     likelihood            policy gradient
    logs             ctr, next_item        offpolicy_pos
    own slates       self_sup              onpolicy_pos

Comparisons, per measure, as per-seed differences:

- main effect of data = ((own, lik) - (logs, lik) + (own, pg) - (logs, pg)) / 2;
- main effect of loss = ((logs, pg) - (logs, lik) + (own, pg) - (own, lik)) / 2;
- interaction         = ((own, pg) - (logs, pg)) - ((own, lik) - (logs, lik));
- every pair of learners present (``conjecture.LEARNERS`` order, a - b).

The forgetting measures are compared a second time **at matched learning** (``MATCHED_AT``): per
seed, each 2 x 2 learner's (mean stage new-segment CTR/oracle, the measure) over all its sweep points,
sorted by the CTR and linearly interpolated, read at the middle of the overlap of the five learners'
ranges (``verdict.matched_values``) — a learner that forgets less because it learned less does not win
there. No Pareto frontier: the most accurate point is mostly also the least forgetting one, so a
frontier collapses to one point and no ranges overlap.

Every comparison of every measure of the experiment is one family: its intervals are simultaneous
95% max-t bootstrap intervals over the seeds and its p-values are Holm-adjusted bootstrap p-values
(``report.stats.multiplicity``).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from forgetbench.report.runs import Run, trained_sequence
from forgetbench.report.runs.readings import metric_value
from forgetbench.report.stats.conjecture import LEARNERS, NEW_CTR, best_point, eligible, points_of
from forgetbench.report.stats.multiplicity import Simultaneous, max_t
from forgetbench.report.stats.verdict import matched_values, mean_of, paired_differences
from forgetbench.report.stats.views import Row

LOGS, OWN, LIK, PG = "logs", "own slates", "likelihood", "policy gradient"
CELLS = {(LOGS, LIK): ("ctr", "next_item"), (LOGS, PG): ("offpolicy_pos",),
         (OWN, LIK): ("self_sup",), (OWN, PG): ("onpolicy_pos",)}
MEASURES = (NEW_CTR, "min_stage_new_accuracy", "mean_stage_new_accuracy", "final_old_task_decline", "mean_old_cohort_decline", "max_old_cohort_decline",
            "cumulative_ctr", "popularity_lift", "excess_popularity_lift", "coverage", "excess_coverage",
            "exposure_gini", "excess_exposure_gini", "longtail_retention", "calibration_kl",
            "top_category_share", "entropy")
EFFECTS = ("main effect of data: own slates − logs", "main effect of loss: policy gradient − likelihood",
           "interaction (data × loss)")


AT = "best-CTR point"
MATCHED_AT = "matched mean stage CTR/oracle"
MATCHED_X = "mean_stage_new_accuracy"
MATCHED = ("final_old_task_decline", "mean_old_cohort_decline", "max_old_cohort_decline")
#: Bootstrap draws: the smallest bootstrap p is 1 / (N_BOOT + 1), so Holm over ~250 comparisons can
#: still reach ~0.01.
N_BOOT = 20000


@dataclass(frozen=True)
class Effect:
    measure: str
    comparison: str
    result: Simultaneous
    trained: str = ""
    at: str = AT


def resampling(n_comparisons: int) -> str:
    return f"seeds (max-t bootstrap, simultaneous over {n_comparisons} comparisons)"


def recsys_factorial_rows(effects: list[Effect]) -> list[Row]:
    """The ``answer.json`` rows (``view: "factorial"``)."""
    how = resampling(len(effects))
    return [Row("factorial", e.trained, e.comparison, e.at, e.result.estimate, e.result.low, e.result.high,
                e.result.units, how, e.measure) for e in effects]


def _cell(values: dict[str, dict], cell: tuple[str, str]) -> dict:
    present = [values[n] for n in CELLS[cell] if n in values]
    if not present:
        return {}
    seeds = set.intersection(*(set(v) for v in present))
    return {s: v for s, v in mean_of(present).items() if s in seeds}


def effects_of(values: dict[str, dict]) -> list[tuple[str, dict]]:
    """(comparison, per-seed differences) for one measure; ``values``: learner -> seed -> value.
    The three effects need every cell; the pairs need both learners."""
    out: list[tuple[str, dict]] = []
    c = {k: _cell(values, k) for k in CELLS}
    if all(c.values()):
        d_lik, d_pg = paired_differences(c[OWN, LIK], c[LOGS, LIK]), paired_differences(c[OWN, PG], c[LOGS, PG])
        l_logs, l_own = paired_differences(c[LOGS, PG], c[LOGS, LIK]), paired_differences(c[OWN, PG], c[OWN, LIK])
        seeds = set(d_lik) & set(d_pg)
        out += [(EFFECTS[0], {s: (d_lik[s] + d_pg[s]) / 2 for s in seeds}),
                (EFFECTS[1], {s: (l_logs[s] + l_own[s]) / 2 for s in seeds}),
                (EFFECTS[2], {s: d_pg[s] - d_lik[s] for s in seeds})]
    names = [n for n in LEARNERS if n in values]
    out += [(f"{a} − {b}", paired_differences(values[a], values[b])) for a, b in combinations(names, 2)]
    return [(label, d) for label, d in out if len(d) >= 2]


def matched(pts: dict[str, dict[str, dict]], measure: str) -> dict[str, dict]:
    """learner -> seed -> ``measure`` at the seed's matched mean stage CTR/oracle (each 2 x 2 learner's
    points sorted by it, linearly interpolated); empty without overlap."""
    names = [n for ns in CELLS.values() for n in ns if n in pts]
    groups = {n: {} for n in names}
    for n in names:
        for seeds in pts[n].values():
            for s, r in seeds.items():
                x, y = metric_value(r, MATCHED_X), metric_value(r, measure)
                if x is not None and y is not None:
                    groups[n].setdefault(s, []).append((x, y))
    values, _ = matched_values(groups)
    return {n: v for n, v in values.items() if v}


def recsys_factorial(runs: list[Run], out_dir: Path) -> tuple[list[Effect], float]:
    """Every comparison of every measure present (at the best-CTR points; the forgetting measures also
    at matched learning), corrected as one family; and the max-t critical value."""
    keep = eligible(runs)
    pts = points_of(keep, out_dir)
    best = {name: points[best_point(points)] for name, points in pts.items()}
    labelled: list[tuple[str, str, dict, str]] = []
    for measure in MEASURES:
        values = {n: {s: v for s, r in seeds.items() if (v := metric_value(r, measure)) is not None}
                  for n, seeds in best.items()}
        values = {n: v for n, v in values.items() if v}
        labelled += [(measure, label, d, AT) for label, d in effects_of(values)]
    if not any(c in EFFECTS for _, c, _, _ in labelled):       # a cell without runs: no 2 x 2
        return [], float("nan")
    shared = set.intersection(*(set(d) for _, _, d, _ in labelled))
    if len(shared) < 2:
        return [], float("nan")
    for measure in MATCHED:     # only where every seed of the family has an overlap to match at
        labelled += [(measure, label, d, MATCHED_AT) for label, d in effects_of(matched(pts, measure))
                     if label in EFFECTS and shared <= set(d)]
    labelled = [(m, c, {s: d[s] for s in shared}, at) for m, c, d, at in labelled]
    results, crit = max_t([d for _, _, d, _ in labelled], n_boot=N_BOOT)
    trained = trained_sequence(keep[0])
    return [Effect(m, c, r, trained, at) for (m, c, _, at), r in zip(labelled, results)], crit
