"""The recommender's 2 x 2 section of report.md: data (logs / own slates) x loss (likelihood / policy
gradient), main effects and every learner pair per measure, corrected for multiplicity (numbers:
``report.stats.recsys_factorial``)."""
from __future__ import annotations

from forgetbench.report.sections.format import fmt, table
from forgetbench.report.stats.recsys_factorial import AT, CELLS, EFFECTS, MATCHED_AT, MATCHED_X, Effect


def effect_row(e) -> list[str]:
    """One table row of a corrected comparison (anything with ``measure``, ``comparison``, ``result``)."""
    r = e.result
    star = " *" if r.p_holm <= 0.05 else ""
    return [f"`{e.measure}`", e.comparison, fmt(r.estimate), f"[{fmt(r.low)}, {fmt(r.high)}]",
            f"{r.p_holm:.3f}{star}", str(r.units)]


def recsys_factorial_section(effects: list[Effect], crit: float) -> list[str]:
    """Markdown of the 2 x 2; nothing when a cell has no runs."""
    if not effects:
        return []
    cells = "; ".join(f"{d} × {l}: {', '.join(f'`{n}`' for n in ns)}" for (d, l), ns in CELLS.items())
    head = ["measure", "comparison (a − b)", "estimate", "simultaneous 95% interval", "Holm p", "seeds"]
    main = [effect_row(e) for e in effects if e.comparison in EFFECTS and e.at == AT]
    matched = [effect_row(e) for e in effects if e.at == MATCHED_AT]
    pairs = [effect_row(e) for e in effects if e.comparison not in EFFECTS]
    return ["### The 2 × 2: data × loss", "",
            f"Cells ({cells}); each learner at its {AT}, per seed; a two-learner cell is their mean. "
            f"Every comparison below ({len(effects)}) is one family: intervals are simultaneous 95% max-t "
            f"bootstrap intervals over seeds (critical value {crit:.2f} standard errors), p-values "
            "Holm-adjusted bootstrap p-values (* ≤ 0.05). Main effect of data = mean over the two losses "
            "of own slates − logs; of loss = mean over the two data of policy gradient − likelihood.", "",
            "**Main effects**", ""] + table(head, main) + \
        (["", f"**Main effects at {MATCHED_AT}** (per seed, each learner's (`{MATCHED_X}`, measure) over all "
              "its sweep points, sorted and linearly interpolated, read at the middle of the five learners' "
              "overlap: a learner that forgets less because it learned less does not win here)", ""] + table(head, matched)
         if matched else []) + ["", "**Every learner pair**", ""] + table(head, pairs) + [""]
