"""Report section: per-example forgetting beside the mean decline (numbers: ``report.stats.events``)."""
from __future__ import annotations

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import table
from forgetbench.report.stats.events import event_rows


def events_section(groups: dict[str, list[Run]]) -> list[str]:
    """Markdown lines of the per-stage event table (empty when no run has ``example_events``)."""
    rows = [[g, f"{k}: {stage}", str(n)] +
            ["n/a" if v is None else f"{v:.3f}" if i == 0 else f"{v:.1f}" for i, v in enumerate(cells)]
            for g, k, stage, n, cells in event_rows(groups)]
    if not rows:
        return []
    head = ["group", "stage", "n seeds", "old-task decline", "forgetting events", "learning events",
            "turnover", "old examples"]
    return (["", "### Per-example forgetting (seed means)", "",
             "Events count old-task eval examples that flipped against their reference row (the row "
             "`old_task_decline` compares with): a small mean decline can hide much turnover.", ""]
            + table(head, rows))
