"""Report section: sample efficiency and matched CTR in the high range for recommender sweeps with a
budget axis (numbers and method: ``report.stats.budget``)."""
from __future__ import annotations

from pathlib import Path

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import mean_pm
from forgetbench.report.stats.budget import efficiency_rows, has_budget_axis, high_range
from forgetbench.report.stats.conjecture import OFF_POLICY, compared, eligible, points_of


def budget_section(runs: list[Run], out_dir: Path, image: str | None) -> list[str]:
    """Markdown of the section (empty unless some learner was run at ≥ 2 budgets, ``has_budget_axis``);
    ``image``: the sample-efficiency plot's path relative to the report."""
    all_pts = points_of(eligible(runs), out_dir)
    rows = efficiency_rows(all_pts)
    if not has_budget_axis(rows):
        return []
    lines = ["", "### Sample efficiency and matched CTR in the high range", "",
             "Per learner and budget (interactions per stage), its best learning rate by seed-mean "
             "final new-segment CTR/oracle; mean ± 95% CI over seeds; *lowest stage* = the lowest "
             "new-segment CTR/oracle over the stages (the goal is ≥ 0.9 on every stage).", "",
             "| learner | interactions per stage | point | final new-segment CTR/oracle | lowest stage |",
             "|---|---|---|---|---|"]
    for name, rs in rows.items():
        for b, point, final, low in rs:
            lines.append(f"| {name} | {b:,.0f} | `{point}` | {mean_pm(final)} | {mean_pm(low)} |")
    lines += ["", f"![sample efficiency]({image})", ""]
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
    for h in high_range(pts):
        want = "> 0" if h.sign > 0 else "< 0"
        if h.verdict is None:
            lines.append(f"| {h.target:.2f} | {h.prediction.metric} | — | — | — | {want} | 0 | "
                         "outside a learner's CTR range |")
            continue
        v = h.verdict
        cell = lambda side: f"{mean_pm(side[0])} ({side[1].mean:,.0f})"  # noqa: E731
        ci = "—" if v.low is None else f"{v.stats.mean:.3f} [{v.low:.3f}, {v.high:.3f}]"
        lines.append(f"| {h.target:.2f} | {h.prediction.metric} | {cell(h.off)} | {cell(h.on)} | {ci} | "
                     f"{want} | {v.stats.n} | **{v.call}** |")
    return lines
