"""Report section: sample efficiency and matched CTR in the high range for recommender sweeps with a
budget axis (numbers and method: ``report.stats.budget``)."""
from __future__ import annotations

from pathlib import Path

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import mean_pm
from forgetbench.report.stats.budget import HIGH_TARGETS, MATCHED, efficiency_rows, has_budget_axis, matched_high
from forgetbench.report.stats.conjecture import OFF_POLICY, ONPOLICY, compared, eligible, points_of
from forgetbench.report.stats.statistics import mean_ci
from forgetbench.report.stats.verdict import verdict


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
    for t in HIGH_TARGETS:
        for p in MATCHED:
            diffs, side = matched_high(pts, p.metric, p.higher_is_better, t, ONPOLICY)
            sign = p.sign if p.a == "off" else -p.sign
            if not diffs:
                lines.append(f"| {t:.2f} | {p.metric} | — | — | — | {'> 0' if sign > 0 else '< 0'} | 0 | "
                             "outside a learner's CTR range |")
                continue
            v = verdict(diffs, sign)
            cell = lambda k: f"{mean_pm(mean_ci(side[k][0]))} ({mean_ci(side[k][1]).mean:,.0f})"  # noqa: E731
            ci = "—" if v.low is None else f"{v.stats.mean:.3f} [{v.low:.3f}, {v.high:.3f}]"
            lines.append(f"| {t:.2f} | {p.metric} | {cell('off')} | {cell('on')} | {ci} | "
                         f"{'> 0' if sign > 0 else '< 0'} | {v.stats.n} | **{v.call}** |")
    return lines
