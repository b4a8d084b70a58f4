"""The recommender part of report.md: the Conjecture section (its comparisons come from
``report.conjecture``) followed by the sample-efficiency and high-range section (``report.budget``).
"""
from __future__ import annotations

from pathlib import Path

from forgetbench.report.budget import budget_section
from forgetbench.report.conjecture import EXTRA_COLUMNS, conjecture_rows, eligible, points_of
from forgetbench.report.runs import Run


def recsys_sections(runs: list[Run], out_dir: Path, prefix: str = "") -> list[str]:
    """The Conjecture section, then the budget section (each empty when it has nothing to show)."""
    return conjecture_section(runs, out_dir) + budget_section(runs, out_dir, prefix)


def conjecture_section(runs: list[Run], out_dir: Path) -> list[str]:
    """Markdown lines of the Conjecture section (empty when no eligible recsys run)."""
    pts = points_of(eligible(runs), out_dir)
    if not pts:
        return []
    rows, learner_rows, swept = conjecture_rows(runs, out_dir)
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
    table = ["| | prediction | metric | difference | predicted | compared at | mean [95% CI] | "
             "seeds | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    prev = None
    for r in rows:       # one prediction per block: its text once, then one row per comparison
        shown = r if r[0] != prev else [""] * 5 + r[5:]
        prev = r[0]
        table.append("| " + " | ".join(shown) + " |")
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
    ltable = ["| " + " | ".join(lhead) + " |", "|" + "---|" * len(lhead)]
    ltable += ["| " + " | ".join(r) + " |" for r in learner_rows]
    return head + table + notes + ltable
