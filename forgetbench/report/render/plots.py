"""The report's per-experiment PNG plots: accuracy heatmaps, old-task decline per stage, new vs old
task accuracy, forgetting vs its predictors, per-layer drift."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from forgetbench.report.render.figure import distinct_colours, legend, save
from forgetbench.report.runs import Run, num
from forgetbench.report.stats.fits import quadratic_fit
from forgetbench.report.stats.group_means import decline_curves, final_per_layer
from forgetbench.report.stats.predictors import PREDICTORS, predictor_r2

#: The predictors drawn in the forgetting-vs-predictor plot (all of them go into the R² table).
PLOTTED = PREDICTORS[:3]


def plot_heatmap(results: dict, path: str | Path, title: str | None = None) -> Path:
    """Heatmap of ``results["accuracy"]`` (rows ``stages``, columns ``tasks``; null cells blank),
    annotated with the values. Works on one results.json dict or a seed-mean built like one."""
    stages = [str(s) for s in results.get("stages") or []]
    tasks = [str(t) for t in results.get("tasks") or []]
    rows = results.get("accuracy") or []
    mat = np.full((max(len(stages), 1), max(len(tasks), 1)), np.nan)
    for i, row in enumerate(rows[: mat.shape[0]]):
        for j, v in enumerate((row or [])[: mat.shape[1]]):
            f = num(v)
            mat[i, j] = np.nan if f is None else f
    fig, ax = plt.subplots(figsize=(1.1 * mat.shape[1] + 2.5, 0.6 * mat.shape[0] + 1.8))
    im = ax.imshow(np.ma.masked_invalid(mat), vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=45, ha="right")
    ax.set_yticks(range(len(stages)), [f"{i}: {s}" for i, s in enumerate(stages)])
    ax.set_xlabel("evaluated task")
    ax.set_ylabel("after stage")
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            if not np.isnan(mat[i, j]):
                ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if mat[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="accuracy")
    title = title or f"{results.get('experiment', '')} {results.get('method', '')} " \
                     f"seed {results.get('seed', '')}".strip()
    ax.set_title(title)
    return save(fig, path)


def plot_decline(groups: dict[str, list[Run]], path: Path, title: str) -> Path:
    """Old-task decline after each trained stage: seed mean per method, 95% t-band when n > 1."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    distinct_colours(ax, len(groups))
    names: list[str] = []
    for gname, runs in groups.items():
        longest = max(runs, key=lambda r: len(r.stages))
        if len(longest.stages[1:]) > len(names):
            names = longest.stages[1:]
        curve = decline_curves(runs)
        ks = [k + 1 for k, c in enumerate(curve) if c.mean is not None]
        if not ks:
            continue
        means = np.array([curve[k - 1].mean for k in ks])
        (line,) = ax.plot(ks, means, marker="o", label=f"{gname} (n={max(c.n for c in curve)})")
        lo = [curve[k - 1].mean - (curve[k - 1].half or 0.0) for k in ks]
        hi = [curve[k - 1].mean + (curve[k - 1].half or 0.0) for k in ks]
        banded = [curve[k - 1].half is not None for k in ks]
        if any(banded):
            ax.fill_between(ks, lo, hi, where=banded, alpha=0.2, color=line.get_color(),
                            interpolate=False, linewidth=0)
    if names:
        ax.set_xticks(range(1, len(names) + 1), [f"{i}: {s}" for i, s in enumerate(names, 1)])
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("after stage")
    ax.set_ylabel("old-task accuracy decline")
    ax.set_title(title)
    legend(ax)
    return save(fig, path)


def plot_pareto(groups: dict[str, list[Run]], path: Path, title: str) -> Path:
    """Final new-task accuracy vs final mean old-task accuracy, one point per run."""
    fig, ax = plt.subplots(figsize=(6, 5))
    distinct_colours(ax, len(groups))
    for gname, runs in groups.items():
        pts = [(r.summary.get("final_new_task_accuracy"), r.summary.get("final_old_task_accuracy"))
               for r in runs]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        if pts:
            ax.scatter(*zip(*pts), label=gname, s=40, alpha=0.8)
    ax.set_xlabel("new-task accuracy (final stage)")
    ax.set_ylabel("mean old-task accuracy (final stage)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    legend(ax)
    return save(fig, path)


def plot_predictors(groups: dict[str, list[Run]], path: Path, title: str) -> Path:
    """Forgetting (final old-task decline) vs each predictor; pooled quadratic fit, R² in legend."""
    runs = [r for rs in groups.values() for r in rs]
    r2 = predictor_r2(runs)
    fig, axes = plt.subplots(1, len(PLOTTED), figsize=(5 * len(PLOTTED), 4.3))
    distinct_colours(axes, len(groups))
    for ax, (key, xlabel) in zip(axes, PLOTTED):
        allx, ally = [], []
        for gname, rs in groups.items():
            pts = [(r.summary.get(key), r.summary.get("final_old_task_decline")) for r in rs]
            pts = [p for p in pts if p[0] is not None and p[1] is not None
                   and math.isfinite(p[0]) and math.isfinite(p[1])]
            if pts:
                ax.scatter(*zip(*pts), label=gname, s=36, alpha=0.8)
                allx += [p[0] for p in pts]
                ally += [p[1] for p in pts]
        val, n = r2[key]
        if val is not None:
            coef = quadratic_fit(allx, ally)
            grid = np.linspace(min(allx), max(allx), 100)
            ax.plot(grid, np.polyval(coef, grid), color="black", linewidth=1,
                    label=f"quadratic fit R²={val:.2f} (n={n})")
        else:
            ax.plot([], [], " ", label=f"R² undefined (n={n})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("old-task decline (final stage)")
        ax.grid(alpha=0.3)
        legend(ax, 7)
    fig.suptitle(title)
    return save(fig, path)


def plot_per_layer(groups: dict[str, list[Run]], path: Path, title: str) -> Path | None:
    """Per-module relative drift at the final stage, seed mean, one line per method."""
    per = {g: final_per_layer(rs) for g, rs in groups.items()}
    modules: list[str] = []
    for d in per.values():
        modules += [m for m in d if m not in modules]
    if not modules:
        return None
    fig, ax = plt.subplots(figsize=(min(4 + 0.35 * len(modules), 18), 4.8))
    distinct_colours(ax, len(per))
    xs = np.arange(len(modules))
    for g, d in per.items():
        ys = [d.get(m, np.nan) for m in modules]
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1, label=g)
    step = max(1, math.ceil(len(modules) / 40))
    ax.set_xticks(xs[::step], modules[::step], rotation=90, fontsize=6)
    ax.set_ylabel("relative drift ‖ΔW‖/‖W0‖")
    ax.set_title(title)
    legend(ax)
    ax.grid(alpha=0.3)
    return save(fig, path)


def mean_results(experiment: str, group: str, stages: list[str], tasks: list[str],
                 matrix: list[list[Any]]) -> dict:
    """A results-shaped dict for ``plot_heatmap`` from a seed-mean matrix."""
    return {"experiment": experiment, "method": group, "stages": stages, "tasks": tasks,
            "accuracy": matrix}
