"""The report's sweep section (RL's Razor analysis): per-point table, old-task decline at matched
new-task accuracy with 95% t-intervals over (replica, seed) units (``report.stats.matched``), and the
link to the frontier plot (``report.render.sweep_plots.plot_frontiers``).

Families are compared at matched accuracy only when they train the same task sequence (the
control task's accuracy is not the multi-answer task's). The curve version with
hierarchical-bootstrap bands is ``report.sections.curve``.
"""
from __future__ import annotations

from forgetbench.report.runs import (
    ACC, DECLINE, OLD, Run, family_of, group_runs, pooled_label, trained_sequence, unit_of,
)
from forgetbench.report.runs.readings import final_diversity, final_kl, teacher_of
from forgetbench.report.sections.format import mean_pm, mean_pm_n, table
from forgetbench.report.stats.matched import by_trained_family, matched_pair
from forgetbench.report.stats.statistics import mean_ci


def point_rows(runs: list[Run]) -> list[list[str]]:
    """One row per sweep point: family, label, trained tasks, teacher, n, and seed means ± CI."""
    rows = []
    for (fam, label), rs in group_runs(runs, key=lambda r: (family_of(r), pooled_label(r) or r.method)).items():
        rows.append([fam, label, trained_sequence(rs[0]), teacher_of(rs[0]), str(len(rs)),
                     mean_pm(mean_ci(r.summary.get(ACC) for r in rs)),
                     mean_pm(mean_ci(r.summary.get(OLD) for r in rs)),
                     mean_pm(mean_ci(r.summary.get(DECLINE) for r in rs)),
                     mean_pm(mean_ci(final_kl(r, "new_task_forward_kl") for r in rs)),
                     mean_pm(mean_ci(final_kl(r, "old_task_forward_kl") for r in rs)),
                     mean_pm(mean_ci(final_kl(r, "new_task_reverse_kl") for r in rs)),
                     mean_pm(mean_ci(final_diversity(r, "top_answer_share") for r in rs))])
    return rows


def no_common_accuracy(a: str, b: str, spans: list) -> str:
    """The cell saying that two families' seed-mean accuracy ranges do not overlap."""
    return (f"no common accuracy: {a} [{spans[0][0]:.2f}, {spans[0][1]:.2f}], "
            f"{b} [{spans[1][0]:.2f}, {spans[1][1]:.2f}]")


def matched_rows(runs: list[Run], n_targets: int = 3) -> list[list[str]]:
    """Each family against the reference family (``sft`` when present) on the same trained tasks,
    at ``n_targets`` accuracies inside both families' seed-mean ranges: reference decline, family
    decline, and their difference paired by seed (mean ± CI)."""
    rows = []
    for tasks, fams in by_trained_family(runs).items():
        ref = "sft" if "sft" in fams else next(iter(fams))
        n_all = len({unit_of(r) for r in fams[ref]})
        for fam, rs in fams.items():
            if fam == ref:
                continue
            spans, matched = matched_pair(fams[ref], rs, n_targets)
            if not matched:
                rows.append([tasks, f"{ref} − {fam}", "—", "—", "—", no_common_accuracy(ref, fam, spans)])
                continue
            for m in matched:
                rows.append([tasks, f"{ref} − {fam}", f"{m.accuracy:.3f}", mean_pm_n(m.first_stats, n_all),
                             mean_pm_n(m.second_stats, n_all), mean_pm_n(m.difference(), n_all)])
    return rows


def sweep_section(runs: list[Run], image: str | None) -> list[str]:
    """Markdown lines of the sweep analysis (empty when no run carries a sweep ``family``); ``image``:
    the frontier plot's path relative to the report."""
    runs = [r for r in runs if r.data.get("family") and r.complete]
    if not runs:
        return []
    lines = ["", "### Sweep points: Pareto frontiers and forgetting at matched new-task accuracy", "",
             "Each point pools its base replicas and seeds (n runs); mean ± 95% t-interval over them.", ""]
    head = ["family", "point", "trained", "teacher", "n", "new-task acc", "old-task acc",
            "old-task decline", "fwd KL new", "fwd KL old", "rev KL new", "top-answer share"]
    lines += table(head, point_rows(runs))
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
    lines += ["", f"![Pareto frontiers]({image})"]
    return lines
