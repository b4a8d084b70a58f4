"""The top of an experiment's report: the answer in at most three lines with their intervals, and the
verdict as a short table (lowest final old-task decline first).

The answer: with matched-accuracy curves (``report.stats.curve``), one line per compared family (GRPO and
RFT first) — its decline difference from the reference averaged over the common accuracy range,
and at the highest fixed accuracy both reach — then the predictor line (``report.stats.predictors``): the
measure with the largest partial correlation with the decline given new-task accuracy. Without
curves, the lowest-decline group against the next one.
"""
from __future__ import annotations

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import fmt, fmt_ci, interval_cell, table
from forgetbench.report.stats.curve import ACCURACIES, Curves
from forgetbench.report.stats.group_means import summary_stats
from forgetbench.report.stats.statistics import welch_p

#: Families the answer names first.
FIRST = ("grpo", "rft")
#: Rows of the verdict table before it points to the summary.
MAX_ROWS = 8
#: An answer line needs a matched range this wide (of accuracy) reached by this many units.
MIN_SPAN, MIN_UNITS = 0.1, 2


def curve_lines(cs: list[Curves], n: int = 2) -> list[str]:
    """Up to ``n`` lines, one per compared family of the first curve group."""
    if not cs:
        return []
    c = next((c for c in cs if c.reference == "sft"), cs[0])    # the main task before a control's
    fams = sorted(c.diff, key=lambda f: (FIRST.index(f) if f in FIRST else len(FIRST), f))[:n]
    out = []
    for f in fams:
        avg = c.mean_diff(f)
        shown = c.grid[c.shown[f]]
        if avg is None or not shown.size:
            out.append(f"- **{f} vs {c.reference}**: no common new-task accuracy range.")
            continue
        units = int(c.n_units[f][c.shown[f]].min())
        if shown.max() - shown.min() < MIN_SPAN or units < MIN_UNITS:
            out.append(f"- **{f} vs {c.reference}**: no answer line — the matched range {shown.min():.2f}–"
                       f"{shown.max():.2f} is reached by {units} unit(s) (an answer needs ≥ {MIN_SPAN:g} of "
                       f"accuracy and ≥ {MIN_UNITS} units).")
            continue
        said = f"{f} forgets less" if avg[1] > 0 else f"{f} forgets more" if avg[2] < 0 else "no difference resolved"
        top = next((a for a in sorted(ACCURACIES, reverse=True) if c.at(f, a) is not None), None)
        at_top = f"; at {top:g}: {interval_cell(c.at(f, top))}" if top is not None else ""
        out.append(f"- **{f} vs {c.reference}** ({c.trained}), at matched new-task accuracy: {said}. "
                   f"{c.reference} − {f} decline {interval_cell(avg)} averaged over {shown.min():.2f}–{shown.max():.2f}{at_top}.")
    return out


def predictor_line(table) -> list[str]:
    """The measure with the largest partial correlation given new-task accuracy."""
    best = None
    for key, n, iv in table:
        if iv is not None and iv.estimate[3] == iv.estimate[3]:
            if best is None or abs(iv.estimate[3]) > abs(best[2].estimate[3]):
                best = (key, n, iv)
    if best is None:
        return []
    key, n, iv = best
    e, lo, hi = iv.estimate, iv.low, iv.high
    return [f"- **Best predictor** of the decline beyond how much was learned: `{key}` (partial ρ given new-task "
            f"accuracy {e[3]:.2f} [{lo[3]:.2f}, {hi[3]:.2f}], quadratic R² {e[1]:.2f} [{lo[1]:.2f}, {hi[1]:.2f}], "
            f"{n} runs)."]


def verdict_table(groups: dict[str, list[Run]]) -> list[str]:
    """Groups by mean final old-task decline, lowest first (complete runs only, unless there are none):
    decline, final new-task accuracy, and the difference from the lowest with Welch's p."""
    done = {g: rs for g, rs in groups.items() if all(r.complete for r in rs)}
    note = "" if done else " (incomplete runs only)"
    groups = done or groups
    stats = {g: summary_stats(rs, "final_old_task_decline") for g, rs in groups.items()}
    stats = {g: s for g, s in stats.items() if s.n > 0}
    if not stats:
        return ["Verdict: no run has a final old-task decline yet."]
    order = sorted(stats, key=lambda g: stats[g].mean)
    best = stats[order[0]]
    rows = []
    for g in order[:MAX_ROWS]:
        s = stats[g]
        p = welch_p(best, s) if g != order[0] else None
        rows.append([g, str(s.n), fmt_ci(s), fmt_ci(summary_stats(groups[g], "final_new_task_accuracy")),
                     "—" if g == order[0] else fmt(s.mean - best.mean),
                     "—" if g == order[0] else (f"{p:.3g}" if p is not None else "n < 2")])
    more = len(order) - MAX_ROWS
    tail = [f"… {more} more groups in the summary table below."] if more > 0 else []
    return ([f"Verdict{note}: final old-task decline, lowest first (mean ± 95% t-interval over seeds; "
             "difference from the lowest, Welch's two-sided p).", ""]
            + table(["group", "n", "final old-task decline", "final new-task accuracy", "difference", "Welch p"], rows)
            + ([""] + tail if tail else []))


def answer_lines(groups: dict[str, list[Run]], cs: list[Curves], table) -> list[str]:
    """At most three lines: the matched-accuracy answer per family (or the lowest-decline group) and the
    best predictor."""
    lines = curve_lines(cs)
    if not lines:
        stats = {g: summary_stats(rs, "final_old_task_decline") for g, rs in groups.items() if all(r.complete for r in rs)}
        stats = {g: s for g, s in stats.items() if s.n > 0}
        if len(stats) >= 2:
            a, b = sorted(stats, key=lambda g: stats[g].mean)[:2]
            p = welch_p(stats[a], stats[b])
            test = "1 seed: no interval, no test" if p is None else f"Welch p {p:.3g}"
            lines = [f"- **Lowest final old-task decline**: {a} {fmt_ci(stats[a])} vs {b} {fmt_ci(stats[b])} "
                     f"({test}; not at matched new-task accuracy)."]
    return (lines + predictor_line(table))[:3]
