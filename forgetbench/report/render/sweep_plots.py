"""The sweep figures: Pareto frontiers of the sweep points, the matched-accuracy curves of RL's Razor,
and the recommender's sample efficiency."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from forgetbench.report.render.figure import group_colour, legend, save
from forgetbench.report.runs import DECLINE, OLD, Run, family_of, trained_sequence
from forgetbench.report.stats.curve import Curves
from forgetbench.report.stats.frontier import pareto_frontier
from forgetbench.report.stats.matched import point_means


def plot_frontiers(runs: list[Run], path: Path, title: str) -> Path:
    """Mean (new-task accuracy, old-task accuracy) per sweep point over its replicas and seeds, with
    95% t-interval error bars on both axes; each family's frontier of the means; zoomed to the data."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    fams = point_means(runs, OLD, family=lambda r: f"{family_of(r)} ({trained_sequence(r)})")
    for k, (fam, points) in enumerate(fams.items()):
        pts = [(x.mean, y.mean) for x, y in points]
        for x, y in points:
            ax.errorbar(x.mean, y.mean, xerr=x.half or 0.0, yerr=y.half or 0.0, fmt="o", ms=3,
                        color=f"C{k % 10}", alpha=0.5, elinewidth=0.8)
        if pts:
            ax.plot(*zip(*pareto_frontier(pts)), marker="o", color=f"C{k % 10}", label=fam)
    ax.margins(0.03)
    ax.set_xlabel("new-task accuracy (mean over replicas and seeds)")
    ax.set_ylabel("old-task accuracy (mean, 95% t-interval)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    return save(fig, path)


def plot_curves(c: Curves, runs: list[Run], path: Path, title: str) -> Path:
    """Two panels in the style of RL's Razor: each family's decline along its frontier with its band and
    every sweep point with error bars; the difference from the reference with its band; zoomed to
    the data."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    pts = {fam: [(x.mean, x.half or 0.0, y.mean, y.half or 0.0) for x, y in points]
           for fam, points in point_means(runs, DECLINE).items()}
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
    return save(fig, path)


def plot_efficiency(rows: dict[str, list[tuple]], path: Path, title: str) -> Path:
    """Final new-segment CTR/oracle of each learner's best point per budget, with its 95% band, over
    the budget (log scale); ``rows`` from ``stats.budget.efficiency_rows``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, rs in rows.items():
        xs = [b for b, *_ in rs]
        ys = [c.mean for _, _, c, _ in rs]
        if any(y is None for y in ys):
            continue
        lo = [c.mean - (c.half or 0.0) for _, _, c, _ in rs]
        hi = [c.mean + (c.half or 0.0) for _, _, c, _ in rs]
        line, = ax.plot(xs, ys, marker="o", label=name)
        ax.fill_between(xs, lo, hi, alpha=0.15, color=line.get_color())
    ax.set_xscale("log", base=2)
    ax.set_xlabel("interactions per stage")
    ax.set_ylabel("final new-segment CTR / oracle (best lr)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    legend(ax)
    return save(fig, path)
