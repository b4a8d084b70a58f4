"""Report section and plot of the matched-accuracy curves (``report.curve``): a short table of the
decline difference at fixed new-task accuracies, one of each family's decline, and a two-panel
figure in the style of RL's Razor (each family's frontier curve with its band and every sweep point
with error bars; the difference from the reference with its band), zoomed to the data."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from forgetbench.report.curve import ACCURACIES, Curves, curves  # noqa: E402
from forgetbench.report.runs import base_of, family_of, trained_sequence  # noqa: E402
from forgetbench.report.plots import _save, group_colour  # noqa: E402
from forgetbench.report.razor import pooled_label  # noqa: E402
from forgetbench.report.runs import Run  # noqa: E402
from forgetbench.report.statistics import mean_ci  # noqa: E402

ACC, DECLINE = "final_new_task_accuracy", "final_old_task_decline"


def cell(v: tuple[float, float, float] | None, signed: bool = True) -> str:
    """``+0.0120 [+0.0040, +0.0200]`` or ``—`` (4 decimals: declines along a frontier can be ~0.001)."""
    if v is None:
        return "—"
    f = "{:+.4f}" if signed else "{:.4f}"
    text = [f.format(x + 0.0 if abs(x) >= 5e-5 else 0.0) for x in v]     # no "-0.0000"
    return f"{text[0]} [{text[1]}, {text[2]}]"


def _span(c: Curves, fam: str) -> str:
    shown = c.grid[c.shown[fam]]
    return f"{shown.min():.2f}–{shown.max():.2f}" if shown.size else "none"


def diff_rows(c: Curves, accuracies=ACCURACIES) -> list[list[str]]:
    return [[f"{c.reference} − {f}", _span(c, f)] + [cell(c.at(f, a)) for a in accuracies] for f in c.diff]


def decline_rows(c: Curves, accuracies=ACCURACIES) -> list[list[str]]:
    return [[f, _span(c, f)] +
            [cell(c.at(f, a, "decline"), signed=False) for a in accuracies] for f in c.decline]


def _point_stats(runs: list[Run]) -> dict[str, list[tuple]]:
    """family -> [(acc mean, acc CI, decline mean, decline CI)] per sweep point (base excluded from
    the label: a point pools its replicas and seeds)."""
    pts: dict[tuple, list[Run]] = {}
    for r in runs:
        pts.setdefault((family_of(r), pooled_label(r)), []).append(r)
    out: dict[str, list[tuple]] = {}
    for (fam, _), rs in pts.items():
        x, y = mean_ci(r.summary.get(ACC) for r in rs), mean_ci(r.summary.get(DECLINE) for r in rs)
        if x.mean is not None and y.mean is not None:
            out.setdefault(fam, []).append((x.mean, x.half or 0.0, y.mean, y.half or 0.0))
    return out


def plot_curves(c: Curves, runs: list[Run], path: Path, title: str) -> Path:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    pts = _point_stats(runs)
    xs_all = []
    for k, (fam, iv) in enumerate(c.decline.items()):
        colour = group_colour(k, len(c.decline))
        m = c.shown[fam] if fam == c.reference else np.isfinite(iv.estimate)
        ax.plot(c.grid[m], iv.estimate[m], color=colour, label=f"{fam} (frontier, pooled)")
        ax.fill_between(c.grid[m], iv.low[m], iv.high[m], color=colour, alpha=0.2, linewidth=0)
        for x, xh, y, yh in pts.get(fam, []):
            ax.errorbar(x, y, xerr=xh, yerr=yh, fmt="o", ms=3, color=colour, alpha=0.6, elinewidth=0.8)
            xs_all.append(x)
        xs_all += list(c.grid[m])
    for k, (fam, iv) in enumerate(c.diff.items(), 1):
        m = c.shown[fam]
        colour = group_colour(k, len(c.decline))
        bx.plot(c.grid[m], iv.estimate[m], color=colour, label=f"{c.reference} − {fam}")
        bx.fill_between(c.grid[m], iv.low[m], iv.high[m], color=colour, alpha=0.2, linewidth=0)
    bx.axhline(0.0, color="k", lw=0.8)
    if xs_all:
        lo, hi = min(xs_all), max(xs_all)
        pad = 0.03 * max(hi - lo, 0.05)
        for a in (ax, bx):
            a.set_xlim(lo - pad, hi + pad)
    ax.set_xlabel("new-task accuracy")
    ax.set_ylabel("old-task decline (lower = forgets less)")
    ax.set_title(f"{title}: decline along each frontier")
    bx.set_xlabel("matched new-task accuracy")
    bx.set_ylabel(f"{c.reference} − family decline (> 0: family forgets less)")
    bx.set_title("difference at matched accuracy, 95% band")
    for a in (ax, bx):
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(fontsize=7)
    return _save(fig, path)


def curve_section(runs: list[Run], out_dir: Path, prefix: str, computed: list[Curves] | None = None) -> list[str]:
    """Markdown lines (empty without a reference family and another one on the same tasks)."""
    runs = [r for r in runs if r.complete and r.data.get("family")]
    cs = curves(runs) if computed is None else computed
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
                  f"**Difference** ({c.reference} − family, > 0 = the family forgets less):", "",
                  "| comparison | range | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in diff_rows(c)]
        lines += ["", "**Old-task decline** along each family's frontier:", "",
                  "| family | range | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in decline_rows(c)]
        name = f"{prefix}razor_curve_{c.trained.replace(' → ', '-')}.png"
        p = plot_curves(c, rs, out_dir / "plots" / name, c.trained)
        lines += ["", f"![matched-accuracy curves]({p.relative_to(out_dir).as_posix()})", ""]
    return lines

