"""Single values read off one run beyond its summary row: final-stage KL, diversity and defects, the
teacher, the recommender's budget and its lowest stage."""
from __future__ import annotations

from forgetbench.report.runs.groups import trained_sequence
from forgetbench.report.runs.run import Run
from forgetbench.report.runs.values import last, num


def teacher_of(r: Run) -> str:
    """The teachers of the tasks the run trains (``task_options[task].teacher``), comma-joined; ``—`` if none."""
    opts = (r.data.get("config") or {}).get("task_options") or {}
    teachers = {str(o.get("teacher")) for t, o in opts.items() if isinstance(o, dict) and o.get("teacher")
                and t in trained_sequence(r)}
    return ",".join(sorted(teachers)) or "—"


def final_kl(r: Run, key: str) -> float | None:
    """``key`` of the run's last ``kl`` entry (e.g. ``new_task_reverse_kl``)."""
    d = last(r.data.get("kl"))
    return num(d.get(key)) if isinstance(d, dict) else None


def final_diversity(r: Run, key: str) -> float | None:
    """``key`` of the run's last ``new_task_diversity`` entry (e.g. ``top_answer_share``)."""
    d = last(r.per_stage("new_task_diversity"))
    return num(d.get(key)) if isinstance(d, dict) else None


def metric_value(run: Run, metric: str) -> float | None:
    """A summary value of the run (e.g. ``final_old_task_decline``) or a defect of its final stage."""
    if metric in run.summary:
        return run.summary[metric]
    d = last([x for x in run.per_stage("defects") if isinstance(x, dict)])
    return num(d.get(metric)) if isinstance(d, dict) else None


def budget(run: Run) -> float | None:
    """Interactions per stage the run was given (``train_stats[-1]["interactions"]``; one interaction =
    one user shown one slate; an on-policy group of G slates counts G)."""
    stats = run.data.get("train_stats") or []
    return num(stats[-1].get("interactions")) if stats and isinstance(stats[-1], dict) else None


def min_stage_new(run: Run) -> float | None:
    """The lowest new-segment accuracy over the trained stages: R[k][col(k)], k = 1..T."""
    vals = [run.cell(k, run.column(s)) for k, s in enumerate(run.stages[1:], 1)]
    return min(vals) if vals and None not in vals else None
