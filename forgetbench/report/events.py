"""Report section: per-example forgetting (``results.json`` ``example_events``) beside the mean decline.

Per group and stage, seed means of: old-task decline, forgetting events (old-task examples right at
their reference row and wrong now), learning events (wrong there, right now) and turnover (both),
with the number of old-task examples they are counted over (``forgetbench.measures.per_example``).
"""
from __future__ import annotations

from forgetbench.report.runs import Run
from forgetbench.report.statistics import mean_ci

#: The columns after the stage: results.json section and key of each per-stage list.
COLUMNS = (("metrics", "old_task_decline"), ("example_events", "forgetting_events"),
           ("example_events", "learning_events"), ("example_events", "turnover"),
           ("example_events", "old_examples"))


def _seed_mean(runs: list[Run], section: str, key: str, k: int) -> float | None:
    """Mean over runs of stage k's entry of ``results[section][key]`` (runs without it are skipped)."""
    values = []
    for r in runs:
        seq = (r.data.get(section) or {}).get(key) or []
        values.append(seq[k - 1] if k <= len(seq) else None)
    return mean_ci(values).mean


def events_section(groups: dict[str, list[Run]]) -> list[str]:
    rows = []
    for g, runs in groups.items():
        having = [r for r in runs if isinstance(r.data.get("example_events"), dict)]
        if not having:
            continue
        for k in range(1, max(r.trained for r in having) + 1):
            stage = next((r.stages[k] for r in having if len(r.stages) > k), str(k))
            cells = [_seed_mean(having, section, key, k) for section, key in COLUMNS]
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
