"""Recommender sweeps with a budget axis: sample-efficiency curves, and forgetting and defects at
matched new-segment CTR across the high range with each learner's budget beside its value.

- **Budget** of a run = interactions per stage it was given (``train_stats[-1]["interactions"]``;
  one interaction = one user shown one slate; an on-policy group of G slates counts G).
- **Sample efficiency**: per learner and budget, the point (learning rate) with the highest
  seed-mean final new-segment CTR/oracle; its mean ± 95% t-interval over seeds, and the same for
  the lowest new-segment CTR/oracle over the stages (``min_stage_new``: "on every stage").
- **Matched CTR, high range**: at each target CTR/oracle in ``HIGH_TARGETS``, per seed, each
  learner's metric along its Pareto frontier of (CTR/oracle, metric) over *all* its points (every
  learning rate and budget; the best value it reaches at that CTR), linearly interpolated, and its
  budget interpolated between the same two frontier points. The difference is off-policy (per seed
  the mean of ``ctr`` and ``next_item``; both must reach the target) minus the on-policy side
  (``report.conjecture.compared``); paired 95% t-interval and call as in the Conjecture section.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from forgetbench.report.conjecture import (  # noqa: E402
    NEW_CTR, OFF_POLICY, ONPOLICY, PREDICTIONS, best_point, compared, eligible, metric_value, points_of,
)
from forgetbench.report.plots import _legend, _save  # noqa: E402
from forgetbench.report.runs import Run  # noqa: E402
from forgetbench.report.statistics import mean_ci, num  # noqa: E402
from forgetbench.report.verdict import frontier, verdict  # noqa: E402

HIGH_TARGETS = (0.80, 0.84, 0.88, 0.90, 0.92)
#: (prediction tag, metric): the forgetting and exposure predictions, off-policy minus on-policy.
MATCHED = tuple(p for p in PREDICTIONS if p.tag in ("a", "b", "c"))


def budget(run: Run) -> float | None:
    stats = run.data.get("train_stats") or []
    return num(stats[-1].get("interactions")) if stats and isinstance(stats[-1], dict) else None


def min_stage_new(run: Run) -> float | None:
    """The lowest new-segment accuracy over the trained stages: R[k][col(k)], k = 1..T."""
    vals = [run.cell(k, run.column(s)) for k, s in enumerate(run.stages[1:], 1)]
    return min(vals) if vals and None not in vals else None


def efficiency_rows(pts: dict[str, dict]) -> dict[str, list[tuple]]:
    """learner -> [(budget, point, final CTR MeanCI, min-stage CTR MeanCI)] sorted by budget."""
    out: dict[str, list[tuple]] = {}
    for name, points in pts.items():
        by_budget: dict[float, list[str]] = {}
        for point, seeds in points.items():
            b = mean_ci(budget(r) for r in seeds.values()).mean
            if b is not None:
                by_budget.setdefault(b, []).append(point)
        rows = []
        for b, cands in sorted(by_budget.items()):
            best = best_point({p: points[p] for p in cands})
            rs = list(points[best].values())
            rows.append((b, best, mean_ci(r.summary.get(NEW_CTR) for r in rs),
                         mean_ci(min_stage_new(r) for r in rs)))
        if rows:
            out[name] = rows
    return out


def at_target(points: list[tuple], t: float, higher_is_better: bool) -> tuple[float, float] | None:
    """(metric, budget) at CTR ``t`` along the frontier of (CTR, metric, budget) points; None
    outside the points' CTR range. Below the frontier's first CTR (inside the range) the answer is
    that first frontier point: it dominates every point at a lower CTR."""
    pts, by_x = [], {}
    for x, y, b in points:
        if None not in (num(x), num(y), num(b)):
            pts.append((float(x), float(y)))
            by_x.setdefault(float(x), []).append(float(b))
    front = frontier(pts, higher_is_better)        # duplicate x: mean y (``curve``), so mean budget
    if not front or t < min(by_x) - 1e-9 or t > front[-1][0] + 1e-9:
        return None
    cost = {p: sum(by_x[p[0]]) / len(by_x[p[0]]) for p in front}
    if len(front) == 1 or t <= front[0][0]:
        return front[0][1], cost[front[0]]
    for p0, p1 in zip(front, front[1:]):
        if t <= p1[0] + 1e-9:
            w = (t - p0[0]) / (p1[0] - p0[0])
            return p0[1] + w * (p1[1] - p0[1]), cost[p0] + w * (cost[p1] - cost[p0])
    return None


def matched_high(pts: dict[str, dict], metric: str, higher_is_better: bool, t: float, on: str):
    """Per-seed off - on differences at CTR ``t``, and each side's (values, budgets) by seed."""
    def triples(name: str) -> dict:
        out: dict = {}
        for seeds in pts[name].values():
            for s, r in seeds.items():
                out.setdefault(s, []).append((r.summary.get(NEW_CTR), metric_value(r, metric), budget(r)))
        return out

    offs = [n for n in OFF_POLICY if n in pts]
    groups = {n: triples(n) for n in (*offs, on)}
    diffs, side = {}, {"off": ([], []), "on": ([], [])}
    for s in groups[on]:
        got = {n: at_target(groups[n].get(s, []), t, higher_is_better) for n in groups}
        if not offs or any(v is None for v in got.values()):
            continue
        off_y = sum(got[n][0] for n in offs) / len(offs)
        diffs[s] = off_y - got[on][0]
        side["off"][0].append(off_y)
        side["off"][1].append(sum(got[n][1] for n in offs) / len(offs))
        side["on"][0].append(got[on][0])
        side["on"][1].append(got[on][1])
    return diffs, side


def plot_efficiency(rows: dict[str, list[tuple]], path: Path, title: str) -> Path:
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
    _legend(ax)
    return _save(fig, path)


def _ci(c) -> str:
    if c.mean is None:
        return "—"
    return f"{c.mean:.3f}" + ("" if c.half is None else f" ± {c.half:.3f}")


def budget_section(runs: list[Run], out_dir: Path, prefix: str = "") -> list[str]:
    """Markdown of the section (empty unless some learner was run at ≥ 2 budgets)."""
    all_pts = points_of(eligible(runs), out_dir)
    rows = efficiency_rows(all_pts)
    if not any(len(r) > 1 for r in rows.values()):
        return []
    lines = ["", "### Sample efficiency and matched CTR in the high range", "",
             "Per learner and budget (interactions per stage), its best learning rate by seed-mean "
             "final new-segment CTR/oracle; mean ± 95% CI over seeds; *lowest stage* = the lowest "
             "new-segment CTR/oracle over the stages (the goal is ≥ 0.9 on every stage).", "",
             "| learner | interactions per stage | point | final new-segment CTR/oracle | lowest stage |",
             "|---|---|---|---|---|"]
    for name, rs in rows.items():
        for b, point, final, low in rs:
            lines.append(f"| {name} | {b:,.0f} | `{point}` | {_ci(final)} | {_ci(low)} |")
    plot = plot_efficiency(rows, out_dir / "plots" / f"{prefix}sample_efficiency.png",
                           "Sample efficiency (best lr per budget, 95% CI over seeds)")
    lines += ["", f"![sample efficiency]({plot.relative_to(out_dir).as_posix()})", ""]
    pts, on = compared(all_pts)
    if on is None or not any(n in pts for n in OFF_POLICY):
        return lines
    lines += [f"At matched new-segment CTR/oracle, off-policy (mean of `ctr`, `next_item`) minus "
              f"`{on}` (the strongest on-policy learner), each value read off the learner's frontier "
              "over all its learning rates and budgets, with the interpolated budget (interactions per "
              "stage) of the frontier points used beside it; paired 95% t-interval over seeds; a seed "
              "counts where the target is inside every learner's CTR range.", "",
              "| CTR/oracle | metric | off-policy (budget) | on-policy (budget) | off − on [95% CI] | "
              "predicted | seeds | call |", "|---|---|---|---|---|---|---|---|"]
    for t in HIGH_TARGETS:
        for p in MATCHED:
            diffs, side = matched_high(pts, p.metric, p.higher_is_better, t, ONPOLICY)
            sign = p.sign if p.a == "off" else -p.sign
            if not diffs:
                lines.append(f"| {t:.2f} | {p.metric} | — | — | — | {'> 0' if sign > 0 else '< 0'} | 0 | "
                             "outside a learner's CTR range |")
                continue
            v = verdict(diffs, sign)
            cell = lambda k: f"{_ci(mean_ci(side[k][0]))} ({mean_ci(side[k][1]).mean:,.0f})"  # noqa: E731
            ci = "—" if v.low is None else f"{v.stats.mean:.3f} [{v.low:.3f}, {v.high:.3f}]"
            lines.append(f"| {t:.2f} | {p.metric} | {cell('off')} | {cell('on')} | {ci} | "
                         f"{'> 0' if sign > 0 else '< 0'} | {v.stats.n} | **{v.call}** |")
    return lines
