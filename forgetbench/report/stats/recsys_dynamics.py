"""The recommender's dynamics and replay window, each against the same learner without it.

A complete run whose config turns on a feedback knob (``popularity_feedback``: exposure-driven
popularity; ``boredom``: utility lost per showing) or the replay window (``replay_rounds``) is paired,
seed by seed, with the same learner's run at the same learning rate and interactions per stage with
every knob off (the learner's own family, i.e. its 2 x 2 point). Per setting (the knobs on, the
learning rate, the budget) and measure:

- per learner: Δ = with − without (per seed);
- the 2 x 2 on Δ (``recsys_factorial.effects_of``, its three effects): does the data source or the
  loss change what the knob does (main effect of data on Δ popularity lift > 0: on its own slates a
  learner's loop amplifies popularity more than on the previous policy's logs).

Every comparison of the section is one family: simultaneous 95% max-t bootstrap intervals over seeds
and Holm-adjusted p-values (``report.stats.multiplicity``), as in the 2 x 2 section.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.report.runs import Run, family_of, trained_sequence
from forgetbench.report.runs.readings import metric_value
from forgetbench.report.runs.values import num
from forgetbench.report.stats.conjecture import LEARNERS, NEW_CTR
from forgetbench.report.stats.multiplicity import Simultaneous, max_t
from forgetbench.report.stats.recsys_factorial import EFFECTS, N_BOOT, effects_of, resampling
from forgetbench.report.stats.verdict import paired_differences
from forgetbench.report.stats.views import Row

KNOBS = ("popularity_feedback", "boredom", "replay_rounds")
MEASURES = (NEW_CTR, "min_stage_new_accuracy", "final_old_task_decline", "mean_old_cohort_decline",
            "cumulative_ctr", "excess_popularity_lift", "excess_coverage", "excess_exposure_gini",
            "longtail_retention", "top_category_share")
WITH_WITHOUT = "with − without"


@dataclass(frozen=True)
class DynamicsEffect:
    setting: str          # e.g. "popularity_feedback=0.2, lr 0.03, 40960 per stage"
    measure: str
    comparison: str       # "<learner>: with − without" or one of recsys_factorial.EFFECTS
    result: Simultaneous
    trained: str = ""


def _recsys(r: Run) -> dict:
    rec = (r.data.get("config") or {}).get("recsys")
    return rec if isinstance(rec, dict) else {}


def knobs_on(r: Run) -> str:
    """The knobs a run turns on, e.g. ``"popularity_feedback=0.2"`` (several: joined by ", "); "" when off."""
    rec = _recsys(r)
    return ", ".join(f"{k}={num(rec.get(k)):g}" for k in KNOBS if num(rec.get(k)))


def _point(r: Run) -> tuple:
    rec = _recsys(r)
    return num((rec.get("learning_rates") or {}).get(r.method)), num(rec.get("interactions_per_stage"))


def _values(seeds: dict, measure: str) -> dict:
    return {s: v for s, r in seeds.items() if (v := metric_value(r, measure)) is not None}


def dynamics_pairs(runs: list[Run]) -> dict[str, dict[str, tuple[dict, dict]]]:
    """setting -> learner -> (seed -> run with the knobs, seed -> run without), for the settings whose
    learner has a run without them at the same point."""
    keep = [r for r in runs if r.domain == "recsys" and r.complete and r.method in LEARNERS]
    plain: dict[tuple, dict] = {}
    turned: dict[tuple, dict] = {}
    for r in keep:
        on = knobs_on(r)
        if not on and family_of(r) == r.method:
            plain.setdefault((r.method, *_point(r)), {})[r.seed] = r
        elif on:
            turned.setdefault((on, r.method, *_point(r)), {})[r.seed] = r
    out: dict[str, dict[str, tuple[dict, dict]]] = {}
    for (on, method, lr, n), seeds in sorted(turned.items(), key=lambda kv: str(kv[0])):
        if (method, lr, n) in plain:
            setting = f"{on}, lr {lr:g}, {n:,.0f} per stage" if lr is not None and n is not None else on
            out.setdefault(setting, {})[method] = (seeds, plain[method, lr, n])
    return out


def recsys_dynamics(runs: list[Run]) -> tuple[list[DynamicsEffect], float]:
    """Every comparison of every setting and measure, corrected as one family; and the critical value."""
    pairs = dynamics_pairs(runs)
    labelled: list[tuple[str, str, str, dict]] = []
    for setting, learners in pairs.items():
        for measure in MEASURES:
            deltas = {n: d for n in LEARNERS if n in learners
                      and (d := paired_differences(_values(learners[n][0], measure), _values(learners[n][1], measure)))}
            labelled += [(setting, measure, f"{n}: {WITH_WITHOUT}", d) for n, d in deltas.items() if len(d) >= 2]
            labelled += [(setting, measure, c, d) for c, d in effects_of(deltas) if c in EFFECTS]
    if not labelled:
        return [], float("nan")
    shared = set.intersection(*(set(d) for *_, d in labelled))
    if len(shared) < 2:
        return [], float("nan")
    results, crit = max_t([{s: d[s] for s in shared} for *_, d in labelled], n_boot=N_BOOT)
    first = next(iter(next(iter(pairs.values())).values()))[0]
    trained = trained_sequence(next(iter(first.values())))
    return [DynamicsEffect(st, m, c, r, trained) for (st, m, c, _), r in zip(labelled, results)], crit


def recsys_dynamics_rows(effects: list[DynamicsEffect]) -> list[Row]:
    """The ``answer.json`` rows (``view: "dynamics"``, ``at``: the setting)."""
    how = resampling(len(effects))
    return [Row("dynamics", e.trained, e.comparison, e.setting, e.result.estimate, e.result.low,
                e.result.high, e.result.units, how, e.measure) for e in effects]
