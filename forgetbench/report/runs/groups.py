"""Grouping runs: by table group, by sweep family, by trained task sequence, by (base replica, seed)
unit and by sweep point."""
from __future__ import annotations

from forgetbench.report.runs.run import Run, planned_tasks


def group_runs(runs: list[Run], key=lambda r: r.table_group) -> dict[str, list[Run]]:
    """Runs of one experiment keyed by ``key`` (default ``table_group``), in first-seen order."""
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(key(r), []).append(r)
    return out


def family_of(r: Run) -> str:
    """The run's sweep family (its method without a sweep)."""
    return str(r.data.get("family") or r.method)


def family_groups(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs keyed by sweep family (incomplete runs apart, as in ``table_group``): what the plots draw
    when a sweep has too many points for one legend entry each."""
    return group_runs(runs, key=lambda r: family_of(r) if r.complete else f"{family_of(r)} (incomplete)")


def base_of(r: Run) -> str:
    """The run's base model (``model_name_or_path``): the replica level of the bootstrap."""
    return str((r.data.get("config") or {}).get("model_name_or_path") or "?")


def unit_of(r: Run) -> tuple:
    """(base replica, seed): runs of one unit share a base and a seed."""
    return base_of(r), r.seed


def trained_sequence(r: Run) -> str:
    """The tasks the run's config plans to train, in order (``a → b``); the stages it has otherwise."""
    return " → ".join(planned_tasks(r.data.get("config") or {}, r.domain) or r.stages[1:])


def pooled_label(r: Run) -> str:
    """The sweep point's label without its base replica (a point pools its replicas and seeds)."""
    return ",".join(p for p in (r.label or "").split(",") if not p.startswith("base=")) or r.label
