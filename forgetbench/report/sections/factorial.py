"""The section "The 2×2" (numbers: ``report.stats.factorial``): the main effects of the data source and of
the objective, with every simple effect, at matched accuracy and at matched (learning rate, steps); the
staleness dial as a curve; the final decline against the SFT teacher's forward KL to the base."""
from __future__ import annotations

from forgetbench.report.sections.format import fmt, table
from forgetbench.report.sections.regime import at_text
from forgetbench.report.stats.factorial import ALL, MIN_FIT_RUNS, Factorial, refresh_text
from forgetbench.report.stats.views import Row


def cell_text(est, lo, hi, how: str = "") -> str:
    """``+0.0120 [+0.0040, +0.0200]``, or the estimate and why it has no interval."""
    if est is None:
        return "—"
    if lo is None or hi is None:
        return f"{est:+.4f} (no interval{': ' + how.removeprefix('none ') if how.startswith('none') else ''})"
    return f"{est:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def _effects(rows: list[Row]) -> list[str]:
    main = [r for r in rows if r.measure != "slope" and not r.comparison.startswith("refresh_every")]
    if not main:
        return ["No pair of cells shares a unit: no effect to estimate (the 2×2 needs both cells of a pair "
                "run on the same base replica and seed)."]
    order = sorted(main, key=lambda r: ("|" in r.comparison, r.comparison, isinstance(r.at, dict) or r.at == ALL,
                                        at_text(r)))
    return table(["comparison", "matched at", "Δ final old-task decline [95% interval]", "units"],
                 [[r.comparison, at_text(r), cell_text(r.estimate, r.low, r.high, r.resampling), str(r.units)]
                  for r in order])


def _dial(f: Factorial) -> list[str]:
    if not f.dial:
        return []
    vs = {(at_text(r), r.comparison): r for r in f.rows if r.comparison.startswith("refresh_every")}
    body = []
    for cell, k, est, lo, hi, n, ratio, clipped in f.dial:
        at = at_text(Row("", "", "", {"learning_rate": cell[0], "max_steps": cell[1]}, None, None, None, 0, ""))
        d = vs.get((at, f"refresh_every={refresh_text(k)} - refresh_every=1"))
        body.append([at, refresh_text(k), cell_text(est, lo, hi).replace("+", "", 1) if est is not None else "—",
                     cell_text(d.estimate, d.low, d.high, d.resampling) if d else "—", str(n), fmt(ratio), fmt(clipped)])
    return (["", "**The staleness dial.** GRPO's completions from a behaviour policy refreshed every k optimizer "
             "steps (1 = on-policy GRPO, never = `grpo_offpolicy`): final old-task decline per budget, its "
             "difference from k = 1, and the mean importance ratio π_θ/π_b and clipped share of the tokens.", ""]
            + table(["budget", "refresh_every", "final decline [95%]", "minus k = 1 [95%]", "units",
                     "importance ratio", "clipped share"], body))


def _teacher(f: Factorial) -> list[str]:
    if not f.teacher:
        return []
    lines = ["", "**The teacher's distance.** Off-policy likelihood and distillation runs: the mean over stages of "
             "the teacher's forward KL to the base (`teacher_forward_kl`, nats per prompt) and the final old-task "
             "decline, per `teacher_mix` (— = the tasks' own teacher rule).", ""]
    lines += table(["method", "budget", "teacher_mix", "teacher KL", "final decline", "runs"],
                   [[m, f"lr {c[0]:g}, {c[1]} steps", "—" if mix is None else f"{mix:g}", fmt(kl), fmt(y), str(n)]
                    for m, c, mix, kl, y, n in f.teacher])
    near = min(f.teacher, key=lambda t: t[3])
    lines += ["", f"Closest to RL's Razor's \"oracle SFT\" (the smallest teacher KL): {near[0]} at teacher_mix "
                  f"{'—' if near[2] is None else f'{near[2]:g}'} ({fmt(near[3])} nats)."]
    fits = [r for r in f.rows if r.measure == "slope"]
    if fits:
        lines += ["", "Least-squares slope of the final decline on the teacher KL (per nat):", ""]
        lines += table(["fit", "budget", "slope [95% interval]", "runs"],
                       [[r.comparison.split("(")[-1].rstrip(")"), at_text(r),
                         cell_text(r.estimate, r.low, r.high, r.resampling), str(r.units)] for r in fits])
    else:
        lines += ["", f"No fit: no (method, budget) has {MIN_FIT_RUNS} runs with a teacher KL."]
    return lines


def factorial_section(fs: list[Factorial]) -> list[str]:
    """The markdown of "The 2×2" for each trained sequence."""
    if not fs:
        return []
    lines = ["### The 2×2: data source × objective", "",
             "Each method's cell is its registered data source and objective (`docs/methods.md`). Δ is a "
             "difference of final old-task declines, per unit (base replica, seed), then averaged: "
             "`on_policy - off_policy` pools D(on, o) − D(off, o) over the objectives o with both cells, "
             "`policy_gradient - likelihood` pools D(s, pg) − D(s, lik) over the data sources s; "
             "`| x` is the simple effect within x. Δ > 0: the first forgets more. Matched at an accuracy: "
             "along each unit's frontier of (mean new-task accuracy over stages, decline); at a budget: the "
             "same learning rate and steps; all cells: the mean of a unit's per-budget effects.", ""]
    for f in fs:
        lines += [f"Trained: {f.trained}", ""] + _effects(f.rows) + _dial(f) + _teacher(f) + [""]
    return lines
