"""The recommender's dynamics and replay section of report.md: each feedback knob and the replay
window against the same learner without it, and the 2 x 2 on that change (numbers:
``report.stats.recsys_dynamics``)."""
from __future__ import annotations

from forgetbench.report.sections.format import table
from forgetbench.report.sections.recsys_factorial import effect_row
from forgetbench.report.stats.recsys_dynamics import DynamicsEffect


def recsys_dynamics_section(effects: list[DynamicsEffect], crit: float) -> list[str]:
    """Markdown, one table per setting; nothing without paired runs."""
    if not effects:
        return []
    head = ["measure", "comparison", "estimate", "simultaneous 95% interval", "Holm p", "seeds"]
    lines = ["### Dynamics and replay: each against the same learner without it", "",
             "Each setting's runs paired by seed with the same learner's run at the same learning rate "
             "and interactions per stage with every knob off; Δ = with − without, and the 2 × 2 on Δ "
             "(main effect of data > 0: on its own slates a learner's Δ is larger). With a feedback knob "
             "on, the world a learner leaves behind differs and rows are scored against the current "
             "world's oracle, so a decline mixes forgetting with the world having moved. Every "
             f"comparison below ({len(effects)}) is one family: simultaneous 95% max-t bootstrap "
             f"intervals over seeds (critical value {crit:.2f} standard errors), Holm-adjusted p (* ≤ 0.05).", ""]
    for setting in dict.fromkeys(e.setting for e in effects):
        lines += [f"**{setting}**", ""] + table(head, [effect_row(e) for e in effects if e.setting == setting]) + [""]
    return lines
