"""Report section of the matched-accuracy curves (``report.stats.curve``): a short table of the decline
difference at fixed new-task accuracies, one of each family's decline, and the link to each group's
figure (drawn by ``report.render.sweep_plots.plot_curves``)."""
from __future__ import annotations

from forgetbench.report.runs import Run, base_of, trained_sequence
from forgetbench.report.sections.format import interval_cell, table
from forgetbench.report.stats.curve import ACCURACIES, Curves


def _span(c: Curves, fam: str) -> str:
    shown = c.grid[c.shown[fam]]
    return f"{shown.min():.2f}–{shown.max():.2f}" if shown.size else "none"


def diff_rows(c: Curves, accuracies=ACCURACIES) -> list[list[str]]:
    return [[f"{c.reference} − {f}", _span(c, f)] + [interval_cell(c.at(f, a)) for a in accuracies] for f in c.diff]


def decline_rows(c: Curves, accuracies=ACCURACIES) -> list[list[str]]:
    return [[f, _span(c, f)] +
            [interval_cell(c.at(f, a, "decline"), signed=False) for a in accuracies] for f in c.decline]


def curve_section(runs: list[Run], cs: list[Curves], images: dict[str, str]) -> list[str]:
    """Markdown lines of the curves ``cs`` of ``runs`` (empty without curves); ``images``: trained
    sequence -> its figure's path relative to the report."""
    runs = [r for r in runs if r.complete and r.data.get("family")]
    if not cs:
        return []
    head = [f"{a:g}" for a in ACCURACIES]
    lines = ["", "### RL's Razor as a curve: old-task decline at matched new-task accuracy", ""]
    for c in cs:
        iv = next(iter(c.decline.values()))
        rs = [r for r in runs if trained_sequence(r) == c.trained]
        bases = sorted({base_of(r) for r in rs})
        seeds = sorted({r.seed for r in rs}, key=str)
        lines += [f"Trained: {c.trained}; {len(bases)} base replica(s) ({', '.join(bases)}) × "
                  f"{len(seeds)} seed(s). Every interval in this section: {iv.how}; estimate on the observed "
                  "data. Shown where every base replica has a seed reaching that accuracy.", "",
                  f"**Difference** ({c.reference} − family, > 0 = the family forgets less):", ""]
        lines += table(["comparison", "range", *head], diff_rows(c))
        lines += ["", "**Old-task decline** along each family's frontier:", ""]
        lines += table(["family", "range", *head], decline_rows(c))
        lines += ["", f"![matched-accuracy curves]({images[c.trained]})", ""]
    return lines

