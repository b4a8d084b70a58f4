"""One results.json as a ``Run``: the fields the report reads, its summary row (``summarize``) and the
stage sequence its config plans (``planned_tasks``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from forgetbench.report.runs.values import last, num

# Per-run summary metrics, in table order.
SUMMARY_METRICS: tuple[str, ...] = (
    "avg_accuracy", "bwt", "fwt", "forgetting", "final_old_task_decline", "mean_new_task_gain",
    "final_relative_l2", "final_angular_deg", "final_new_task_forward_kl",
    "final_old_task_forward_kl", "total_train_seconds",
)
#: Summary keys the sweep analyses read: final new-task accuracy, mean old-task accuracy, old-task decline.
ACC, OLD, DECLINE = "final_new_task_accuracy", "final_old_task_accuracy", "final_old_task_decline"


class Run:
    """One results.json with the fields the report reads and its ``summary`` (see ``summarize``)."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data = Path(path), data
        self.experiment = str(data.get("experiment") or "")
        self.domain = str(data.get("domain") or "")
        self.method = str(data.get("method") or "?")
        self.label = str(data.get("label") or "")
        self.seed = data.get("seed")
        #: the method, or ``method/label`` when a label is present
        self.group = f"{self.method}/{self.label}" if self.label and self.label != self.method \
            else self.method
        self.stages = [str(x) for x in data.get("stages") or []]
        self.tasks = [str(x) for x in data.get("tasks") or []]
        self.accuracy = data.get("accuracy") or []
        self.trained = max(len(self.stages) - 1, 0)          # trained stages present
        self.planned = planned_tasks(data.get("config") or {}, self.domain)
        # the run's own ``complete`` flag when present, else stages present vs the config's plan
        flag = data.get("complete")
        self.complete = flag if isinstance(flag, bool) else \
            (self.planned is None or self.trained >= len(self.planned))
        self.summary = summarize(self)
        #: name in tables and plots; incomplete runs form their own, marked group so that their
        #: "final" values (from an earlier stage) never mix with those of complete runs
        self.table_group = self.group if self.complete else f"{self.group} (incomplete)"

    def per_stage(self, key: str) -> list:
        """A per-stage list at top level (e.g. ``defects``), else gathered from ``extras``."""
        seq = self.data.get(key)
        if isinstance(seq, list):
            return seq
        extras = self.data.get("extras")
        if isinstance(extras, list):
            return [e.get(key) if isinstance(e, dict) else None for e in extras]
        return []

    def random_ratio(self) -> dict:
        rr = self.data.get("random_ratio")
        if not isinstance(rr, dict):
            rr = last([x for x in self.per_stage("random_ratio") if isinstance(x, dict)])
        return rr if isinstance(rr, dict) else {}

    def column(self, stage_name: str) -> str | None:
        """Column of the task trained in a stage ("even@2" -> "even" unless "even@2" is a column)."""
        tasks = self.tasks
        if stage_name in tasks:
            return stage_name
        root = stage_name.split("@", 1)[0]
        return root if root in tasks else None

    def cell(self, stage: int, task: str | None) -> float | None:
        try:
            return num(self.accuracy[stage][self.tasks.index(task)])
        except (IndexError, ValueError, TypeError):
            return None

    def old_tasks(self, stage: int) -> list[str]:
        """Columns that are old at ``stage``: prior skills and the tasks trained before it (not the
        task trained at ``stage``, nor tasks the config plans for later stages)."""
        trained_now = {self.column(s) for s in self.stages[1:stage + 1]}
        before = {self.column(s) for s in self.stages[1:stage]}
        future = {self.column(s) for s in (self.planned or [])} - trained_now
        current = self.column(self.stages[stage]) if 0 < stage < len(self.stages) else None
        return [t for t in self.tasks
                if t != current and (t in before or (t not in trained_now and t not in future))]


def planned_tasks(config: dict, domain: str = "") -> list[str] | None:
    """The stage sequence the config asks for: ``recsys.stages`` for the recommender, else
    ``tasks[:max_stages]``; None when the config does not say."""
    rec = config.get("recsys")
    seq = rec.get("stages") if domain == "recsys" and isinstance(rec, dict) else None
    if not isinstance(seq, list):
        seq = config.get("tasks")
        if isinstance(seq, list) and isinstance(config.get("max_stages"), int) and config["max_stages"] > 0:
            seq = seq[: config["max_stages"]]
    if not isinstance(seq, list) or not seq:
        return None
    return [str(x) for x in seq]


def _train_seconds(entry: Any) -> float | None:
    if isinstance(entry, dict):
        for k in ("train", "train_s", "train_seconds", "train_sec"):
            if k in entry:
                return num(entry[k])
        return None
    return num(entry)


def summarize(run: Run) -> dict[str, float | None]:
    """The per-run values of ``SUMMARY_METRICS`` (None where missing), plus the final new- and
    old-task accuracies used by the Pareto plot."""
    d = run.data
    m = d.get("metrics") or {}
    drift, kl = last(d.get("drift")) or {}, last(d.get("kl")) or {}
    gains = [v for v in (num(g) for g in m.get("new_task_gain") or []) if v is not None]
    secs = [v for v in (_train_seconds(t) for t in d.get("timing") or []) if v is not None]
    T = run.trained
    final_new = run.cell(T, run.column(run.stages[T])) if T >= 1 else None
    olds = [v for v in (run.cell(T, t) for t in run.old_tasks(T)) if v is not None] if T >= 1 else []
    return {
        "avg_accuracy": num(m.get("avg_accuracy")),
        "bwt": num(m.get("bwt")),
        "fwt": num(m.get("fwt")),
        "forgetting": num(m.get("forgetting")),
        "final_old_task_decline": num(last(m.get("old_task_decline"))),
        "mean_new_task_gain": float(np.mean(gains)) if gains else None,
        "final_relative_l2": num(drift.get("relative_l2")) if isinstance(drift, dict) else None,
        "final_angular_deg": num(drift.get("angular_deg")) if isinstance(drift, dict) else None,
        "final_new_task_forward_kl": num(kl.get("new_task_forward_kl")) if isinstance(kl, dict) else None,
        "final_old_task_forward_kl": num(kl.get("old_task_forward_kl")) if isinstance(kl, dict) else None,
        "final_new_task_reverse_kl": num(kl.get("new_task_reverse_kl")) if isinstance(kl, dict) else None,
        "final_update_sparsity": num(drift.get("update_sparsity")) if isinstance(drift, dict) else None,
        "final_update_rank_frac": num(drift.get("update_rank_frac")) if isinstance(drift, dict) else None,
        "total_train_seconds": float(sum(secs)) if secs else None,
        "final_new_task_accuracy": final_new,
        "final_old_task_accuracy": float(np.mean(olds)) if olds else None,
    }
