"""The report's sweep section (RL's Razor analysis): per-point table, Pareto frontiers per family,
old-task decline at matched new-task accuracy with 95% t-intervals over (replica, seed) units, and the
frontier plot.

Families are compared at matched accuracy only when they train the same task sequence (the
control task's accuracy is not the multi-answer task's). A family's decline at accuracy ``a`` for
one unit (base replica, seed) interpolates that unit's points along their (accuracy, decline)
frontier; the CI is the t-interval over units (``report.statistics.mean_ci``). The curve version with
hierarchical-bootstrap bands is ``report.curve``.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from forgetbench.report.frontier import decline_at, matched_targets, pareto_frontier  # noqa: E402
from forgetbench.report.plots import _save  # noqa: E402
from forgetbench.report.runs import Run, base_of, family_of, trained_sequence  # noqa: E402
from forgetbench.report.statistics import last, mean_ci, num  # noqa: E402

ACC, OLD, DECLINE = "final_new_task_accuracy", "final_old_task_accuracy", "final_old_task_decline"


def _unit(r: Run) -> tuple:
    """(base replica, seed): runs of one unit share a base and a seed."""
    return base_of(r), r.seed


def _teacher(r: Run) -> str:
    opts = (r.data.get("config") or {}).get("task_options") or {}
    teachers = {str(o.get("teacher")) for t, o in opts.items() if isinstance(o, dict) and o.get("teacher")
                and t in trained_sequence(r)}
    return ",".join(sorted(teachers)) or "—"


def _kl(r: Run, key: str):
    d = last(r.data.get("kl"))
    return num(d.get(key)) if isinstance(d, dict) else None


def _diversity(r: Run, key: str):
    d = last(r.per_stage("new_task_diversity"))
    return num(d.get(key)) if isinstance(d, dict) else None


def _fmt(s) -> str:
    if s.mean is None:
        return "—"
    return f"{s.mean:.3f}" + (f" ± {s.half:.3f}" if s.half is not None else "")


def point_rows(runs: list[Run]) -> list[list[str]]:
    """One row per sweep point: family, label, trained tasks, teacher, n, and seed means ± CI."""
    points: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        points.setdefault((family_of(r), pooled_label(r) or r.method), []).append(r)
    rows = []
    for (fam, label), rs in points.items():
        rows.append([fam, label, trained_sequence(rs[0]), _teacher(rs[0]), str(len(rs)),
                     _fmt(mean_ci(r.summary.get(ACC) for r in rs)),
                     _fmt(mean_ci(r.summary.get(OLD) for r in rs)),
                     _fmt(mean_ci(r.summary.get(DECLINE) for r in rs)),
                     _fmt(mean_ci(_kl(r, "new_task_forward_kl") for r in rs)),
                     _fmt(mean_ci(_kl(r, "old_task_forward_kl") for r in rs)),
                     _fmt(mean_ci(_kl(r, "new_task_reverse_kl") for r in rs)),
                     _fmt(mean_ci(_diversity(r, "top_answer_share") for r in rs))])
    return rows


def _per_seed_decline(rs: list[Run], a: float) -> dict:
    """{(base replica, seed): decline at accuracy ``a`` along that unit's frontier} (units out of range
    omitted)."""
    seeds: dict = {}
    for r in rs:
        seeds.setdefault(_unit(r), []).append((r.summary[ACC], r.summary[DECLINE]))
    values = {s: decline_at(pts, a) for s, pts in seeds.items()}
    return {s: v for s, v in values.items() if v is not None}


def _mean_range(rs: list[Run]) -> tuple[float, float]:
    """[min, max] of the seed-mean new-task accuracy over a family's points."""
    points: dict[str, list[float]] = {}
    for r in rs:
        points.setdefault(pooled_label(r), []).append(r.summary[ACC])
    means = [sum(v) / len(v) for v in points.values()]
    return min(means), max(means)


def _fmt_n(s, n_all: int) -> str:
    return _fmt(s) + (f" (n={s.n})" if 0 < s.n < n_all else "")


def matched_rows(runs: list[Run], n_targets: int = 3) -> list[list[str]]:
    """Each family against the reference family (``sft`` when present) on the same trained tasks,
    at ``n_targets`` accuracies inside both families' seed-mean ranges: reference decline, family
    decline, and their difference paired by seed (mean ± CI)."""
    by_tasks: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        if r.summary.get(ACC) is not None and r.summary.get(DECLINE) is not None:
            by_tasks.setdefault(trained_sequence(r), {}).setdefault(family_of(r), []).append(r)
    rows = []
    for tasks, fams in by_tasks.items():
        ref = "sft" if "sft" in fams else next(iter(fams))
        n_all = len({_unit(r) for r in fams[ref]})
        for fam, rs in fams.items():
            if fam == ref:
                continue
            spans = [_mean_range(fams[ref]), _mean_range(rs)]
            targets = matched_targets(spans, n_targets)
            if not targets:
                rows.append([tasks, f"{ref} − {fam}", "—", "—", "—",
                             f"no common accuracy: {ref} [{spans[0][0]:.2f}, {spans[0][1]:.2f}], "
                             f"{fam} [{spans[1][0]:.2f}, {spans[1][1]:.2f}]"])
                continue
            for a in targets:
                d_ref, d_fam = _per_seed_decline(fams[ref], a), _per_seed_decline(rs, a)
                diff = [d_ref[s] - d_fam[s] for s in d_ref if s in d_fam]
                rows.append([tasks, f"{ref} − {fam}", f"{a:.3f}", _fmt_n(mean_ci(d_ref.values()), n_all),
                             _fmt_n(mean_ci(d_fam.values()), n_all), _fmt_n(mean_ci(diff), n_all)])
    return rows


def pooled_label(r: Run) -> str:
    """The sweep point's label without its base replica (a point pools its replicas and seeds)."""
    return ",".join(p for p in (r.label or "").split(",") if not p.startswith("base=")) or r.label


def plot_frontiers(runs: list[Run], path: Path, title: str) -> Path:
    """Mean (new-task accuracy, old-task accuracy) per sweep point over its replicas and seeds, with
    95% t-interval error bars on both axes; each family's frontier of the means; zoomed to the data."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    fams: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        fams.setdefault(f"{family_of(r)} ({trained_sequence(r)})", {}).setdefault(pooled_label(r), []).append(r)
    for k, (fam, points) in enumerate(fams.items()):
        pts = []
        for rs in points.values():
            x, y = mean_ci(r.summary.get(ACC) for r in rs), mean_ci(r.summary.get(OLD) for r in rs)
            if x.mean is not None and y.mean is not None:
                pts.append((x.mean, y.mean))
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
    return _save(fig, path)


def sweep_section(runs: list[Run], out_dir: Path, prefix: str) -> list[str]:
    """Markdown lines of the sweep analysis (empty when no run carries a sweep ``family``)."""
    runs = [r for r in runs if r.data.get("family") and r.complete]
    if not runs:
        return []
    lines = ["", "### Sweep points: Pareto frontiers and forgetting at matched new-task accuracy", "",
             "Each point pools its base replicas and seeds (n runs); mean ± 95% t-interval over them.", ""]
    head = ["family", "point", "trained", "teacher", "n", "new-task acc", "old-task acc",
            "old-task decline", "fwd KL new", "fwd KL old", "rev KL new", "top-answer share"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in point_rows(runs)]
    lines += ["", "top-answer share = mean over new-task prompts of the most frequent correct answer's "
                  "share of the correct samples at T=1 (1 = collapsed onto one answer per prompt).",
              "", "Old-task decline at three matched new-task accuracies (per (replica, seed) unit, linear "
                  "interpolation along the family's (accuracy, decline) frontier; mean ± 95% t-interval over units, "
                  "`(n=k)` when only k units reach that accuracy; targets span the overlap of the two families' "
                  "mean accuracy ranges; difference > 0 = the family forgets less than the reference):", ""]
    matched = matched_rows(runs)
    lines += ["| trained | comparison | new-task acc | reference decline | family decline | "
              "difference (paired by unit) |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in matched] or ["| — | fewer than two families | | | | |"]
    p = plot_frontiers(runs, out_dir / "plots" / f"{prefix}frontiers.png", "Pareto frontiers per family")
    lines += ["", f"![Pareto frontiers]({p.relative_to(out_dir).as_posix()})"]
    return lines
