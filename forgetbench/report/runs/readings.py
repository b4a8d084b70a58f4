"""Single values read off one run beyond its summary row: final-stage KL, diversity and defects, the
teacher, the recommender's budget and its lowest stage."""
from __future__ import annotations

from forgetbench.measures.continual import old_task_declines
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


def cohort_declines(run: Run) -> list[dict]:
    """Per trained stage, every old task's decline right after it (``measures.continual.old_task_declines``)."""
    if run.trained < 1:
        return []
    R = [[num(v) for v in row] for row in run.accuracy]
    sup = run.data.get("supersedes") if isinstance(run.data.get("supersedes"), dict) else None
    try:
        return old_task_declines(R, run.stages, run.tasks, run.planned or (), sup)
    except (ValueError, IndexError, TypeError):
        return []


def cumulative_ctr(run: Run) -> float | None:
    """What users paid while the learner learned: clicks / interactions over every training round
    of every stage (``train_stats`` logged CTR weighted by interactions)."""
    stats = [s for s in run.data.get("train_stats") or [] if isinstance(s, dict)]
    pairs = [(num(s.get("logged_ctr")), num(s.get("interactions"))) for s in stats]
    pairs = [(c, n) for c, n in pairs if c is not None and n]
    return sum(c * n for c, n in pairs) / sum(n for _, n in pairs) if pairs else None


def _derived(run: Run, metric: str) -> float | None:
    if metric in ("mean_old_cohort_decline", "max_old_cohort_decline"):
        vals = [v for d in cohort_declines(run) for v in d.values()]
        return None if not vals else (sum(vals) / len(vals) if metric.startswith("mean") else max(vals))
    if metric == "cumulative_ctr":
        return cumulative_ctr(run)
    if metric in ("min_stage_new_accuracy", "mean_stage_new_accuracy"):
        vals = [run.cell(k, run.column(s)) for k, s in enumerate(run.stages[1:], 1)]
        if not vals or None in vals:
            return None
        return min(vals) if metric.startswith("min") else sum(vals) / len(vals)
    if metric.startswith("excess_"):            # runs stored before the learner wrote it: defect - oracle's
        pol = last([x for x in run.per_stage("defects") if isinstance(x, dict)]) or {}
        ora = last([x for x in run.per_stage("defects_oracle") if isinstance(x, dict)]) or {}
        a, b = num(pol.get(metric[7:])), num(ora.get(metric[7:]))
        return None if a is None or b is None else a - b
    return None


def metric_value(run: Run, metric: str) -> float | None:
    """A summary value of the run (e.g. ``final_old_task_decline``), a defect of its final stage, or
    a derived reading: ``mean_old_cohort_decline`` / ``max_old_cohort_decline`` (mean / max over
    every stage and every task old at it of its decline right after that stage), ``min_stage_new_accuracy``
    / ``mean_stage_new_accuracy`` (of the trained task right after each stage), ``cumulative_ctr``,
    ``excess_<defect>`` (the final stage's defect minus the oracle slates')."""
    if metric in run.summary:
        return run.summary[metric]
    d = last([x for x in run.per_stage("defects") if isinstance(x, dict)])
    v = num(d.get(metric)) if isinstance(d, dict) else None
    return v if v is not None else _derived(run, metric)


def budget(run: Run) -> float | None:
    """Interactions per stage the run was given (``train_stats[-1]["interactions"]``; one interaction =
    one user shown one slate; an on-policy group of G slates counts G)."""
    stats = run.data.get("train_stats") or []
    return num(stats[-1].get("interactions")) if stats and isinstance(stats[-1], dict) else None


def min_stage_new(run: Run) -> float | None:
    """The lowest new-segment accuracy over the trained stages: R[k][col(k)], k = 1..T."""
    vals = [run.cell(k, run.column(s)) for k, s in enumerate(run.stages[1:], 1)]
    return min(vals) if vals and None not in vals else None
