"""The answer in four views, each the reference family's old-task decline minus another family's
(``sft − grpo`` > 0: GRPO forgets less), per unit u = (base replica, seed), averaged over bases of the
mean over their seeds (``bootstrap.nested_mean``), with a hierarchical-bootstrap interval:

- ``matched_accuracy``: along each unit's frontier of (mean over stages of the new-task accuracy right
  after each stage, decline) over all its runs (every learning rate and budget; the untrained base
  as (its mean new-task accuracy, 0)), interpolated at fixed accuracies; for the final decline and
  for the decline averaged over stages (``measure``);
- ``matched_budget``: at every (learning rate, max_steps) cell both families ran, the final decline;
- ``per_stage``: the decline after stage k, averaged over the cells both ran;
- ``past_saturation``: the decline after a stage as a function of the steps trained past that
  stage's ``steps_to_saturation`` (bins), stages pooled.

Intervals resample what varies: base replicas when there are ≥ 2, seeds when a base has ≥ 2, and eval
examples; with one replica and one seed, or a cell only one unit reaches, there is no interval
(``low``/``high`` None).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forgetbench.report.stats.bootstrap import bootstrap, nested_mean, observed, varying_levels
from forgetbench.report.stats.curve import frontier_curve
from forgetbench.report.stats.frontier import interpolate_many
from forgetbench.report.runs import Run, trained_sequence
from forgetbench.report.stats.sequence_scores import SequenceScores, Values

ACCURACIES = (0.6, 0.7, 0.8, 0.9, 0.95)
#: Steps trained past saturation: the bins of ``past_saturation`` (inclusive bounds).
BINS = ((0, 0), (1, 8), (9, 32), (33, 128), (129, 10 ** 9))
VIEWS = ("matched_accuracy", "matched_budget", "past_saturation", "per_stage")
RESAMPLED = {"bases": "replicas", "seeds": "seeds", "examples": "examples"}


@dataclass(frozen=True)
class Row:
    """One cell of the regime table (``answer.json`` row)."""
    view: str
    trained: str
    comparison: str
    at: object
    estimate: float | None
    low: float | None
    high: float | None
    units: int
    resampling: str
    measure: str = "final_old_task_decline"

    def resolved(self) -> int:
        """+1 / −1 when the interval excludes 0 above / below, 0 otherwise (or without interval)."""
        if self.low is None or self.high is None:
            return 0
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def bin_label(b: tuple[int, int]) -> str:
    lo, hi = b
    return str(lo) if lo == hi else f"{lo}+" if hi >= 10 ** 9 else f"{lo}-{hi}"


def finite_mean(xs) -> float:
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def per_unit(vals: list[Values], key, arm=lambda v: v.run.family) -> dict:
    """(arm, key) -> {unit: [values]} over the pairs ``key(v)`` yields (arm: the run's family by default)."""
    out: dict = {}
    for v in vals:
        for k, x in key(v):
            out.setdefault((arm(v), k), {}).setdefault(v.run.unit, []).append(x)
    return out


def _diff(per: dict, ref: str, fam: str, keys) -> dict:
    """key -> {unit: mean(ref) − mean(fam)} for the units both families have at that key."""
    out = {}
    for k in keys:
        a, b = per.get((ref, k), {}), per.get((fam, k), {})
        both = {u: finite_mean(a[u]) - finite_mean(b[u]) for u in a if u in b}
        if both:
            out[k] = both
    return out


def unit_frontiers(vals: list[Values], decline, arm=lambda v: v.run.family) -> dict:
    """arm (family) -> unit -> decline interpolated at ACCURACIES along the unit's frontier (base anchored)."""
    grid, out = np.array(ACCURACIES), {}
    for (fam, _), units in per_unit(vals, lambda v: [(0, v)], arm).items():
        for unit, xs in units.items():
            pts = [(float(v.new.mean()), decline(v)) for v in xs]
            out.setdefault(fam, {})[unit] = interpolate_many(frontier_curve(pts, (float(xs[0].base_new.mean()), 0.0)), grid)
    return out


def view_cells(vals: list[Values], ref: str, families: list[str]) -> dict[str, dict[tuple, dict]]:
    """family -> (view, at, measure) -> {unit: reference − family}, on one draw's values."""
    cells = per_unit(vals, lambda v: [(v.run.cell, v.decline[-1])] if v.run.cell else [])
    stages = per_unit(vals, lambda v: [((v.run.cell, k + 1), x) for k, x in enumerate(v.decline)] if v.run.cell else [])
    past = per_unit(vals, lambda v: [(b, x) for p, x in zip(v.run.past, v.decline)
                                      if p is not None for b in BINS if b[0] <= p <= b[1]])
    curves = {m: unit_frontiers(vals, f) for m, f in (("final_old_task_decline", lambda v: float(v.decline[-1])),
                                                  ("mean_stage_old_task_decline", lambda v: finite_mean(v.decline)))}
    n_stages = max((len(v.decline) for v in vals), default=0)
    result = {}
    for fam in families:
        out: dict[tuple, dict] = {}
        for cell, d in _diff(cells, ref, fam, sorted({k for _, k in cells})).items():
            out[("matched_budget", cell, "final_old_task_decline")] = d
        for k in range(1, n_stages + 1):
            per_cell = _diff(stages, ref, fam, sorted({c for _, c in stages if c[1] == k}))
            units = {u for d in per_cell.values() for u in d}
            if units:
                out[("per_stage", k, "old_task_decline")] = {u: finite_mean([d[u] for d in per_cell.values() if u in d])
                                                             for u in units}
        for b, d in _diff(past, ref, fam, list(BINS)).items():
            out[("past_saturation", bin_label(b), "old_task_decline")] = d
        for measure, fronts in curves.items():
            mine, theirs = fronts.get(ref, {}), fronts.get(fam, {})
            for i, a in enumerate(ACCURACIES):
                d = {u: y[i] - theirs[u][i] for u, y in mine.items()
                     if u in theirs and np.isfinite(y[i]) and np.isfinite(theirs[u][i])}
                if d:
                    out[("matched_accuracy", a, measure)] = d
        result[fam] = out
    return result


def nested_unit_mean(units: dict, groups) -> float:
    """Mean over drawn bases of the mean over their drawn seeds of one number per unit (NaN if none)."""
    m = nested_mean({u: np.array([x]) for u, x in units.items()}, groups) if units else np.array([])
    return float(m[0]) if m.size else np.nan


def view_rows(trained: str, scores: SequenceScores, ref: str, n_boot: int = 1000, seed: int = 0) -> list[Row]:
    """The regime table's rows of one trained sequence: every view, every other family."""
    clusters, n_ex = scores.clusters(), scores.n_examples()
    families = sorted({r.family for r in scores.runs} - {ref})
    if ref not in {r.family for r in scores.runs} or not families:
        return []
    obs = scores.values(observed(clusters, n_ex))
    keys = [(fam, k, len(d)) for fam, cells in view_cells(obs, ref, families).items() for k, d in cells.items()]
    if not keys:
        return []
    levels = varying_levels(clusters)

    def statistic(d) -> np.ndarray:
        vals = scores.values(d)
        cells = view_cells(vals, ref, families)
        return np.array([nested_unit_mean(cells[fam].get(k, {}), d.groups) for fam, k, _ in keys], dtype=float)

    iv = bootstrap(statistic, clusters, n_ex, n_boot if levels else 0, seed, levels)
    how = " → ".join(RESAMPLED[x] for x in levels) if levels else "none (1 replica, 1 seed: no interval)"
    rows = []
    for i, (fam, (view, at, measure), n) in enumerate(keys):
        est = float(iv.estimate[i]) if np.isfinite(iv.estimate[i]) else None
        lo = float(iv.low[i]) if levels and n >= 2 and np.isfinite(iv.low[i]) else None   # one unit: no interval
        hi = float(iv.high[i]) if levels and n >= 2 and np.isfinite(iv.high[i]) else None
        if view == "matched_budget":
            at = {"learning_rate": at[0], "max_steps": at[1]}
        rows.append(Row(view, trained, f"{ref} - {fam}", at, est, lo, hi, n,
                        how if n >= 2 or not levels else "none (1 unit: no interval)", measure))
    order = {v: i for i, v in enumerate(VIEWS)}
    return sorted(rows, key=lambda r: (order[r.view], r.comparison, r.measure))


def experiment_rows(runs: list[Run], reference: str = "sft", n_boot: int = 1000) -> list[Row]:
    """The regime rows of every trained sequence of an experiment's complete LLM runs (a group whose
    runs were scored on different eval sets is left out: no shared examples to resample)."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        if r.complete and r.domain == "llm":
            groups.setdefault(trained_sequence(r), []).append(r)
    rows = []
    for trained, rs in groups.items():
        try:
            rows += view_rows(trained, SequenceScores(rs), reference, n_boot)
        except ValueError:
            continue
    return rows
