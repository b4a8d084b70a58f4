"""The recommender's Conjecture section of report.md: the predictions' verdicts and the learners as
compared (numbers: ``report.stats.conjecture``)."""
from __future__ import annotations

from pathlib import Path

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import mean_pm, table
from forgetbench.report.stats.conjecture import (
    EXTRA_COLUMNS, IPS, ONPOLICY, Comparison, LearnerPoint, conjecture, eligible, points_of,
)
from forgetbench.report.stats.verdict import INCONCLUSIVE, Verdict

_NAMES = {"off": "off-policy (mean of ctr, next_item)", IPS: "ips", ONPOLICY: "onpolicy"}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.4f}" if abs(v) < 1 else f"{v:.3f}"


def _ci_text(v: Verdict) -> str:
    s = v.stats
    if s.n == 0:
        return "—"
    if s.half is None:
        return f"{_fmt(s.mean)} (no interval, n=1)"
    return f"{_fmt(s.mean)} [{_fmt(v.low)}, {_fmt(v.high)}]"


def _target_text(vals: tuple) -> str:
    return f"{min(vals):.3f}–{max(vals):.3f}" if len(vals) > 1 and max(vals) - min(vals) > 5e-4 \
        else f"{vals[0]:.3f}"


def comparison_row(c: Comparison, on: str | None) -> list[str]:
    """One row of the predictions table: tag, text, metric, difference, predicted sign, how compared,
    mean [95% CI], seeds and the call."""
    p, v = c.prediction, c.verdict
    names = {**_NAMES, ONPOLICY: on or ONPOLICY}
    diff = f"{names[p.a]} − {names[p.b]}"
    want = "> 0" if p.sign > 0 else "< 0"
    how = f"{c.how} ≈ {_target_text(c.targets)}" if c.targets else c.how
    if v is None or v.stats.n == 0:
        return [p.tag, p.text, p.metric, diff, want, how, c.why or "—", "0", INCONCLUSIVE]
    return [p.tag, p.text, p.metric, diff, want, how, _ci_text(v), str(v.stats.n), f"**{v.call}**"]


def learner_row(lp: LearnerPoint) -> list[str]:
    """One row of the learners table: learner, point (marked when it is the best-CTR one), n, cells."""
    mark = " (best CTR)" if lp.best else ""
    return [lp.learner, f"`{lp.point}`{mark}", str(lp.n)] + [mean_pm(c) for c in lp.cells]


def conjecture_section(runs: list[Run], out_dir: Path) -> list[str]:
    """Markdown lines of the Conjecture section (empty when no eligible recsys run)."""
    pts = points_of(eligible(runs), out_dir)
    if not pts:
        return []
    comparisons, learners, swept, on = conjecture(runs, out_dir)
    rows = [comparison_row(c, on) for c in comparisons]
    n_seeds = min((len(s) for p in pts.values() for s in p.values()), default=0)
    head = ["", "### Conjecture: off-policy supervised vs on-policy recommenders", "",
            "Industrial recommenders learn off-policy, from the logs of the previously deployed model. "
            "The conjecture: their known defects come from that, and an on-policy learner suffers "
            "less. Each prediction is a paired difference over seeds (same world, same base policy); "
            "the interval is the 95% t-interval of the per-seed differences; **supported** / "
            "**refuted** = the interval excludes 0 on the predicted / the opposite side, "
            "**inconclusive** = it contains 0 (or fewer than 2 seeds).", ""]
    if n_seeds < 5:
        head += [f"*Only {n_seeds} seed(s) per learner point: the intervals are wide (the comparison "
                 f"is meant for ≥ 5 seeds).*", ""]
    lines = ["| | prediction | metric | difference | predicted | compared at | mean [95% CI] | "
             "seeds | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    prev = None
    for r in rows:       # one prediction per block: its text once, then one row per comparison
        shown = r if r[0] != prev else [""] * 5 + r[5:]
        prev = r[0]
        lines.append("| " + " | ".join(shown) + " |")
    notes = ["",
             "- off-policy = `ctr` and `next_item` (per seed, the mean of the two); `ips` apart; the "
             "on-policy side = the on-policy RL learner (`onpolicy`, `onpolicy_pg`, `onpolicy_pos`) "
             "whose best point reaches the highest new-segment CTR/oracle. Metrics: `final_old_task_decline` = old-task "
             "(old-segment) decline after the last stage; `popularity_lift`, `coverage`, "
             "`exposure_gini` = defects of the final policy's greedy slates for the users of the "
             "segment trained last.",
             "- best-CTR point: each learner at its run directory (sweep point) with the highest "
             "seed-mean final new-segment accuracy; without a sweep, its only point.",
             "- matched new-segment CTR (only with a sweep): pair by pair (ctr vs the other learner, "
             "next_item vs the other learner), per seed, both learners' values at the midpoint of the "
             "overlap of their CTR/oracle ranges, read off each learner's Pareto frontier of "
             "(CTR/oracle, metric) sweep points — the best value of the metric it reaches at that CTR "
             "(lower decline, popularity lift and Gini; higher coverage), linearly interpolated — then "
             "the mean of the pairs' differences; a seed counts when every pair overlaps. The range "
             "after ≈ is that of the targets over pairs and seeds.",
             "- matched policy entropy (exposure-side predictions b, c, e): the same pairing with x = "
             "the final policy's mean entropy (nats), plain linear interpolation between the sweep "
             "points sorted by entropy (no frontier: entropy is held fixed, not optimised)."]
    if not swept:
        notes += ["- No sweep in these runs, so no comparison at matched new-segment CTR: a learner "
                  "that learns less may also forget less. Add a `sweep` over "
                  "`recsys.learning_rates.<method>` (see `configs/recsys.yaml`)."]
    notes += ["", "Learners as compared (mean ± 95% CI over seeds, final stage):", ""]
    lhead = ["learner", "point", "n", "new-segment CTR/oracle", "old-task decline", *EXTRA_COLUMNS]
    return head + lines + notes + table(lhead, [learner_row(lp) for lp in learners])
