"""Per-example forgetting (``results.json`` ``example_events``) beside the mean decline, as seed means.

Per group and stage, seed means of: old-task decline, forgetting events (old-task examples right at
their reference row and wrong now), learning events (wrong there, right now) and turnover (both),
with the number of old-task examples they are counted over (``forgetbench.measures.per_example``).
"""
from __future__ import annotations

from forgetbench.report.runs import Run
from forgetbench.report.stats.statistics import mean_ci

#: The columns after the stage: results.json section and key of each per-stage list.
COLUMNS = (("metrics", "old_task_decline"), ("example_events", "forgetting_events"),
           ("example_events", "learning_events"), ("example_events", "turnover"),
           ("example_events", "old_examples"))


def seed_mean(runs: list[Run], section: str, key: str, k: int) -> float | None:
    """Mean over runs of stage k's entry of ``results[section][key]`` (runs without it are skipped)."""
    values = []
    for r in runs:
        seq = (r.data.get(section) or {}).get(key) or []
        values.append(seq[k - 1] if k <= len(seq) else None)
    return mean_ci(values).mean


def event_rows(groups: dict[str, list[Run]]) -> list[tuple[str, int, str, int, list[float | None]]]:
    """(group, stage k, stage name, n runs with events, seed means of ``COLUMNS``) per group and trained
    stage where the forgetting events have a value."""
    rows = []
    for g, runs in groups.items():
        having = [r for r in runs if isinstance(r.data.get("example_events"), dict)]
        if not having:
            continue
        for k in range(1, max(r.trained for r in having) + 1):
            stage = next((r.stages[k] for r in having if len(r.stages) > k), str(k))
            cells = [seed_mean(having, section, key, k) for section, key in COLUMNS]
            if cells[1] is not None:
                rows.append((g, k, stage, len(having), cells))
    return rows
