"""The 2×2: where the data come from (off-policy, on-policy) × what the loss is (likelihood, policy
gradient, distillation, preference), each method's cell read from its registered ``data_source`` and
``objective``; then the staleness dial and the SFT teacher's distance.

Per unit u = (base replica, seed), a cell's final old-task decline D(source, objective) (the mean over the
cell's methods' runs), at a matched (learning rate, max_steps) budget or interpolated at a matched mean
new-task accuracy along the unit's frontier (``views.unit_frontiers``). Main effects, pooled over the
pairs the unit has (positive: the first forgets more):

    data source  = mean_o [D(on, o) − D(off, o)]           (o over the objectives with both cells)
    objective    = mean_s [D(s, policy gradient) − D(s, likelihood)]   (s over the data sources with both)

and the simple effects of each pair; ``at`` "all cells" averages a unit's per-cell effects. The staleness
dial: the decline of a GRPO run at ``refresh_every`` k minus at 1, per budget. The teacher's distance:
per (method, budget) of the off-policy likelihood and distillation runs, the least-squares slope of the
final decline on the run's mean ``teacher_forward_kl`` over stages (≥ 10 runs). Every number is a
nested mean over units with the hierarchical bootstrap of ``bootstrap.py``; the rules of ``views.py``
(no interval from one replica and one seed, or from one unit) hold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forgetbench.plugins.methods import DATA_SOURCES, OBJECTIVES, registered_methods
from forgetbench.report.runs import Run, family_of, trained_sequence
from forgetbench.report.stats.bootstrap import bootstrap, observed, varying_levels
from forgetbench.report.stats.sequence_scores import RunScores, SequenceScores, Values
from forgetbench.report.stats.views import (
    ACCURACIES, RESAMPLED, Row, finite_mean, nested_unit_mean, per_unit, unit_frontiers,
)

ON, OFF, LIK, PG = "on_policy", "off_policy", "likelihood", "policy_gradient"
ALL = "all cells"
MIN_FIT_RUNS = 10
DECLINE = "final_old_task_decline"
CONTRASTS = ([("on_policy - off_policy", [((ON, o), (OFF, o)) for o in OBJECTIVES]),
              ("policy_gradient - likelihood", [((s, PG), (s, LIK)) for s in DATA_SOURCES])]
             + [(f"on_policy - off_policy | {o}", [((ON, o), (OFF, o))]) for o in OBJECTIVES]
             + [(f"policy_gradient - likelihood | {s}", [((s, PG), (s, LIK))]) for s in DATA_SOURCES])
_NOT = object()


def section_of(r: Run, name: str) -> dict:
    cfg = r.data.get("config") or {}
    return cfg.get(name) if isinstance(cfg.get(name), dict) else {}


def teacher_mix_of(r: Run):
    return (r.data.get("config") or {}).get("teacher_mix")


def refresh_of(r: Run):
    """A GRPO run's ``refresh_every`` (absent: 1 for ``grpo``, never = None for ``grpo_offpolicy`` with the
    stage-start behaviour policy); ``_NOT`` for every other run."""
    if teacher_mix_of(r) is not None:
        return _NOT
    if r.method == "grpo":
        return section_of(r, "grpo").get("refresh_every", 1)
    if r.method == "grpo_offpolicy" and section_of(r, r.method).get("behaviour", "start") == "start":
        return section_of(r, r.method).get("refresh_every")
    return _NOT


def arm_of(r: Run) -> tuple[str, str] | None:
    """(data source, objective) of a plain run: a registered method's own family, at its default staleness
    and without ``teacher_mix`` (the dials' runs are read by the dial and the teacher fit)."""
    m = registered_methods().get(r.method)
    if m is None or family_of(r) != r.method or teacher_mix_of(r) is not None:
        return None
    if r.method == "grpo" and refresh_of(r) != 1:
        return None
    return m.data_source, m.objective


def teacher_kl_of(r: Run) -> float | None:
    """The mean over trained stages of ``train_stats[k].teacher_forward_kl`` (None if a stage lacks it)."""
    stats = r.data.get("train_stats") or []
    xs = [s.get("teacher_forward_kl") if isinstance(s, dict) else None for s in stats[:r.trained]]
    return float(np.mean(xs)) if xs and all(isinstance(x, (int, float)) for x in xs) else None


def fitted(r: Run) -> bool:
    """An off-policy likelihood or distillation run (trained on the teacher's targets) with a teacher KL."""
    m = registered_methods().get(r.method)
    return (m is not None and m.data_source == OFF and m.objective in (LIK, "distillation")
            and teacher_kl_of(r) is not None)


def refresh_text(k) -> str:
    return "never" if k is None else str(k)


def _budget(cell) -> dict:
    return {"learning_rate": cell[0], "max_steps": cell[1]}


def effect_cells(vals: list[Values]) -> dict[tuple, dict]:
    """(comparison, at) -> {unit: effect} on one draw's values (see the module docstring)."""
    vals = [v for v in vals if v.run.origin is not None and arm_of(v.run.origin) is not None]
    arm = lambda v: arm_of(v.run.origin)  # noqa: E731
    budget = per_unit(vals, lambda v: [(v.run.cell, float(v.decline[-1]))] if v.run.cell else [], arm)
    fronts = unit_frontiers(vals, lambda v: float(v.decline[-1]), arm)
    cells = sorted({c for _, c in budget}, key=str)

    def value(a, at, u) -> float:
        if isinstance(at, float):
            y = fronts.get(a, {}).get(u)
            return float(y[ACCURACIES.index(at)]) if y is not None else np.nan
        return finite_mean(budget.get((a, at), {}).get(u, []))

    units = {v.run.unit for v in vals}
    out: dict[tuple, dict] = {}
    for name, pairs in CONTRASTS:
        per_cell: dict = {}
        for at in list(ACCURACIES) + cells:
            d = {}
            for u in units:
                xs = [value(a, at, u) - value(b, at, u) for a, b in pairs]
                xs = [x for x in xs if np.isfinite(x)]
                if xs:
                    d[u] = float(np.mean(xs))
            if d:
                out[(name, at)] = d
                if not isinstance(at, float):
                    per_cell[at] = d
        pooled = {u: finite_mean([d[u] for d in per_cell.values() if u in d]) for u in units}
        pooled = {u: x for u, x in pooled.items() if np.isfinite(x)}
        if len(per_cell) > 1 and pooled:
            out[(name, ALL)] = pooled
    return out


def dial_cells(vals: list[Values]) -> dict[tuple, dict]:
    """("decline", cell, k) -> {unit: final decline} and ("vs 1", cell, k) -> {unit: D(k) − D(1)}."""
    vals = [v for v in vals if v.run.origin is not None and v.run.cell and refresh_of(v.run.origin) is not _NOT]
    by = per_unit(vals, lambda v: [((v.run.cell, refresh_of(v.run.origin)), float(v.decline[-1]))], lambda v: 0)
    out: dict[tuple, dict] = {}
    for (_, (cell, k)), d in by.items():
        out[("decline", cell, k)] = {u: finite_mean(x) for u, x in d.items()}
    for (_, cell, k), d in list(out.items()):
        one = out.get(("decline", cell, 1))
        if k != 1 and one:
            both = {u: x - one[u] for u, x in d.items() if u in one}
            if both:
                out[("vs 1", cell, k)] = both
    return out


def fit_groups(runs: list[RunScores]) -> dict:
    """(method, cell) -> the indices of its fitted runs."""
    out: dict = {}
    for i, rs in enumerate(runs):
        if rs.origin is not None and rs.cell and fitted(rs.origin):
            out.setdefault((rs.origin.method, rs.cell), []).append(i)
    return out


def slope(vals: list[Values], idx: list[int], groups) -> float:
    """Least-squares slope of final decline on teacher KL over the runs ``idx`` of the drawn units (repeats kept)."""
    drawn = [u for g in groups for u in g]
    xs, ys = [], []
    for u in drawn:
        for i in idx:
            if vals[i].run.unit == u:
                xs.append(teacher_kl_of(vals[i].run.origin))
                ys.append(float(vals[i].decline[-1]))
    if len(set(xs)) < 2 or not all(np.isfinite(ys)):
        return np.nan
    return float(np.polyfit(xs, ys, 1)[0])


@dataclass(frozen=True)
class Factorial:
    """One trained sequence's 2×2: ``rows`` (answer.json, view ``factorial``), the dial's curve
    ``(cell, k, estimate, low, high, units, importance_ratio_mean, clipped_share)`` and the teacher points
    ``(method, cell, teacher_mix, mean teacher KL, mean final decline, runs)``."""
    trained: str
    rows: list[Row]
    dial: list[tuple]
    teacher: list[tuple]


def _stat_means(runs: list[Run], key: str) -> float | None:
    xs = [s.get(key) for r in runs for s in (r.data.get("train_stats") or []) if isinstance(s, dict)]
    xs = [x for x in xs if isinstance(x, (int, float))]
    return float(np.mean(xs)) if xs else None


def factorial(trained: str, scores: SequenceScores, n_boot: int = 1000, seed: int = 0) -> Factorial:
    """The 2×2 of one trained sequence (see the module docstring)."""
    clusters, n_ex = scores.clusters(), scores.n_examples()
    obs = scores.values(observed(clusters, n_ex))
    fits = {k: v for k, v in fit_groups(scores.runs).items() if len(v) >= MIN_FIT_RUNS}
    keys = ([("effect", k, len(d)) for k, d in effect_cells(obs).items()]
            + [("dial", k, len(d)) for k, d in dial_cells(obs).items()]
            + [("fit", k, len({obs[i].run.unit for i in v})) for k, v in fits.items()])
    levels = varying_levels(clusters)

    def statistic(d) -> np.ndarray:
        vals = scores.values(d)
        eff, dial = effect_cells(vals), dial_cells(vals)
        return np.array([nested_unit_mean(eff.get(k, {}), d.groups) if kind == "effect" else
                         nested_unit_mean(dial.get(k, {}), d.groups) if kind == "dial" else
                         slope(vals, fits[k], d.groups) for kind, k, _ in keys], dtype=float)

    iv = bootstrap(statistic, clusters, n_ex, n_boot if levels and keys else 0, seed, levels)
    how = " → ".join(RESAMPLED[x] for x in levels) if levels else "none (1 replica, 1 seed: no interval)"
    rows, dial = [], []
    for i, (kind, k, n) in enumerate(keys):
        est = float(iv.estimate[i]) if np.isfinite(iv.estimate[i]) else None
        ok = levels and n >= 2
        lo = float(iv.low[i]) if ok and np.isfinite(iv.low[i]) else None
        hi = float(iv.high[i]) if ok and np.isfinite(iv.high[i]) else None
        res = how if n >= 2 or not levels else "none (1 unit: no interval)"
        if kind == "effect":
            name, at = k
            rows.append(Row("factorial", trained, name, _budget(at) if isinstance(at, tuple) else at, est, lo, hi,
                            n, res, DECLINE))
        elif kind == "fit":
            rows.append(Row("factorial", trained, f"slope: {DECLINE} per nat of teacher_forward_kl ({k[0]})",
                            _budget(k[1]), est, lo, hi, len(fits[k]), res, "slope"))
        elif k[0] == "vs 1":
            rows.append(Row("factorial", trained, f"refresh_every={refresh_text(k[2])} - refresh_every=1",
                            _budget(k[1]), est, lo, hi, n, res, DECLINE))
        else:
            runs = [rs.origin for rs in scores.runs if rs.cell == k[1] and rs.origin is not None
                    and refresh_of(rs.origin) is not _NOT and refresh_of(rs.origin) == k[2]]
            dial.append((k[1], k[2], est, lo, hi, n, _stat_means(runs, "importance_ratio_mean"),
                         _stat_means(runs, "clipped_share")))
    return Factorial(trained, rows, sorted(dial, key=lambda t: (str(t[0]), 10 ** 9 if t[1] is None else t[1])),
                     _teacher_points(scores, obs))


def _teacher_points(scores: SequenceScores, obs: list[Values]) -> list[tuple]:
    groups: dict = {}
    for v in obs:
        r = v.run.origin
        if r is not None and v.run.cell and fitted(r):
            groups.setdefault((r.method, v.run.cell, teacher_mix_of(r)), []).append((teacher_kl_of(r), v.decline[-1]))
    return [(m, cell, mix, float(np.mean([x for x, _ in p])), float(np.mean([y for _, y in p])), len(p))
            for (m, cell, mix), p in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2] is not None, kv[0][2] or 0))]


def shown(runs: list[Run]) -> bool:
    """The section is written for runs made for it: a ``grpo_offpolicy`` run, a GRPO run at another
    ``refresh_every`` than 1, or a run with ``teacher_mix``."""
    return any(r.method == "grpo_offpolicy" or (r.method == "grpo" and refresh_of(r) not in (1, _NOT))
               or teacher_mix_of(r) is not None for r in runs)


def experiment_factorials(runs: list[Run], n_boot: int = 1000) -> list[Factorial]:
    """The 2×2 of every trained sequence of an experiment's complete LLM runs (when ``shown``)."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        if r.complete and r.domain == "llm":
            groups.setdefault(trained_sequence(r), []).append(r)
    out = []
    for trained, rs in groups.items():
        if not shown(rs):
            continue
        try:
            out.append(factorial(trained, SequenceScores(rs), n_boot))
        except ValueError:
            continue
    return out
