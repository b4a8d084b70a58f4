"""The report's "on-policy effect with the objective held fixed" section.

Methods come in pairs with one objective and two data sources: supervised ``sft`` (teacher targets)
/ ``rft`` (own correct samples), distillation ``kd`` (teacher samples) / ``opd`` (own samples scored
by the teacher), preferences ``dpo`` (fixed pairs) / ``online_dpo`` (pairs of own samples). For each
pair on the same trained tasks, at new-task accuracies inside both members' mean ranges:

    effect(a) = decline_on(a) − decline_off(a)     (< 0: the on-policy member forgets less)

per (base replica, seed) unit, each member's decline interpolated along its (accuracy, decline) frontier exactly as in the
sweep section (``report.razor``); mean ± 95% t-interval over the units both members reach.
A member is the family named like the method (a sweep family without a ``family:`` name, or the
plain run of that method).
"""
from __future__ import annotations

from forgetbench.report.frontier import matched_targets
from forgetbench.report.runs import trained_sequence
from forgetbench.report.razor import ACC, DECLINE, _fmt_n, _mean_range, _per_seed_decline, _unit
from forgetbench.report.runs import Run, family_of
from forgetbench.report.statistics import mean_ci

#: (objective, off-policy member, on-policy member)
PAIRS = (("supervised", "sft", "rft"), ("distillation", "kd", "opd"), ("preferences", "dpo", "online_dpo"))


def spectrum_rows(runs: list[Run], n_targets: int = 3) -> list[list[str]]:
    """Rows ``[trained, objective, off → on, accuracy, off decline, on decline, on − off]``."""
    by_tasks: dict[str, dict[str, list[Run]]] = {}
    for r in runs:
        if r.complete and r.summary.get(ACC) is not None and r.summary.get(DECLINE) is not None:
            by_tasks.setdefault(trained_sequence(r), {}).setdefault(family_of(r), []).append(r)
    rows = []
    for tasks, fams in by_tasks.items():
        for objective, off, on in PAIRS:
            if off not in fams or on not in fams:
                continue
            pair = f"{off} → {on}"
            spans = [_mean_range(fams[off]), _mean_range(fams[on])]
            targets = matched_targets(spans, n_targets)
            if not targets:
                rows.append([tasks, objective, pair, "—", "—", "—",
                             f"no common accuracy: {off} [{spans[0][0]:.2f}, {spans[0][1]:.2f}], "
                             f"{on} [{spans[1][0]:.2f}, {spans[1][1]:.2f}]"])
                continue
            n_all = len({_unit(r) for r in fams[off]} & {_unit(r) for r in fams[on]})
            for a in targets:
                d_off, d_on = _per_seed_decline(fams[off], a), _per_seed_decline(fams[on], a)
                effect = [d_on[s] - d_off[s] for s in d_off if s in d_on]
                short = [m for m, d in ((off, d_off), (on, d_on)) if not d]
                rows.append([tasks, objective, pair, f"{a:.3f}", _fmt_n(mean_ci(d_off.values()), n_all),
                             _fmt_n(mean_ci(d_on.values()), n_all),
                             _fmt_n(mean_ci(effect), n_all) if effect else
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
            "**on − off < 0 = the on-policy member forgets less**.", "",
            "| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
