"""The report's "on-policy effect with the objective held fixed" section.

Methods come in pairs with one objective and two data sources: supervised ``sft`` (teacher targets)
/ ``rft`` (own correct samples), distillation ``kd`` (teacher samples) / ``opd`` (own samples scored
by the teacher), preferences ``dpo`` (fixed pairs) / ``online_dpo`` (pairs of own samples). For each
pair on the same trained tasks, at new-task accuracies inside both members' mean ranges:

    effect(a) = decline_on(a) − decline_off(a)     (< 0: the on-policy member forgets less)

per (base replica, seed) unit, each member's decline interpolated along its (accuracy, decline) frontier exactly as in the
sweep section (``report.stats.matched``); mean ± 95% t-interval over the units both members reach.
A member is the family named like the method (a sweep family without a ``family:`` name, or the
plain run of that method).
"""
from __future__ import annotations

from forgetbench.report.runs import Run, unit_of
from forgetbench.report.sections.format import mean_pm_n, table
from forgetbench.report.sections.sweep import no_common_accuracy
from forgetbench.report.stats.matched import by_trained_family, matched_pair

#: (objective, off-policy member, on-policy member)
PAIRS = (("supervised", "sft", "rft"), ("distillation", "kd", "opd"), ("preferences", "dpo", "online_dpo"))


def spectrum_rows(runs: list[Run], n_targets: int = 3) -> list[list[str]]:
    """Rows ``[trained, objective, off → on, accuracy, off decline, on decline, on − off]``."""
    rows = []
    for tasks, fams in by_trained_family([r for r in runs if r.complete]).items():
        for objective, off, on in PAIRS:
            if off not in fams or on not in fams:
                continue
            pair = f"{off} → {on}"
            spans, matched = matched_pair(fams[off], fams[on], n_targets)
            if not matched:
                rows.append([tasks, objective, pair, "—", "—", "—", no_common_accuracy(off, on, spans)])
                continue
            n_all = len({unit_of(r) for r in fams[off]} & {unit_of(r) for r in fams[on]})
            for m in matched:
                short = [name for name, d in ((off, m.first), (on, m.second)) if not d]
                rows.append([tasks, objective, pair, f"{m.accuracy:.3f}", mean_pm_n(m.first_stats, n_all),
                             mean_pm_n(m.second_stats, n_all),
                             mean_pm_n(m.difference(reverse=True), n_all) if m.n_paired else
                             f"— ({' and '.join(short)}: the frontier does not reach this accuracy)"])
    return rows


def spectrum_section(runs: list[Run]) -> list[str]:
    """Markdown lines (empty when no pair has both members)."""
    rows = spectrum_rows(runs)
    if not rows:
        return []
    head = ["trained", "objective", "off → on-policy", "new-task acc", "off-policy decline", "on-policy decline",
            "on − off (paired by unit)"]
    return ["", "### The on-policy effect with the objective held fixed", "",
            "Each pair shares an objective and differs only in where the data come from. Old-task decline "
            "at matched new-task accuracy (per (replica, seed) unit, linear interpolation along each member's (accuracy, "
            "decline) frontier; mean ± 95% t-interval over units, `(n=k)` when only k units reach that accuracy); "
            "**on − off < 0 = the on-policy member forgets less**.", ""] + table(head, rows)
