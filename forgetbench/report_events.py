"""Report section: per-example forgetting (``results.json`` ``example_events``) beside the mean decline.

Per group and stage, seed means of: old-task decline, forgetting events (old-task examples right at
their reference row and wrong now), learning events (wrong there, right now) and turnover (both),
with the number of old-task examples they are counted over (``forgetbench.measures.per_example``).
"""
from __future__ import annotations

from forgetbench.report_runs import Run


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def events_section(groups: dict[str, list[Run]]) -> list[str]:
    rows = []
    for g, runs in groups.items():
        having = [r for r in runs if isinstance(r.data.get("example_events"), dict)]
        if not having:
            continue
        for k in range(1, max(r.trained for r in having) + 1):
            def at(key, source="events"):
                vals = []
                for r in having:
                    seq = (r.data["example_events"] if source == "events"
                           else (r.data.get("metrics") or {})).get(key) or []
                    vals.append(seq[k - 1] if k - 1 < len(seq) else None)
                return _mean(vals)
            stage = next((r.stages[k] for r in having if len(r.stages) > k), str(k))
            cells = [at("old_task_decline", "metrics"), at("forgetting_events"), at("learning_events"),
                     at("turnover"), at("old_examples")]
            if cells[1] is None:
                continue
            rows.append([g, f"{k}: {stage}", str(len(having))] +
                        ["n/a" if v is None else f"{v:.3f}" if i == 0 else f"{v:.1f}" for i, v in enumerate(cells)])
    if not rows:
        return []
    head = ["group", "stage", "n seeds", "old-task decline", "forgetting events", "learning events",
            "turnover", "old examples"]
    return (["", "### Per-example forgetting (seed means)", "",
             "Events count old-task eval examples that flipped against their reference row (the row "
             "`old_task_decline` compares with): a small mean decline can hide much turnover.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in rows])
