"""Every stage of every run, recomputable under a bootstrap draw: the new-task accuracy right after
stage k and the old-task decline after stage k, from ``per_example`` correctness (so the eval
examples can be resampled), plus the run's (learning rate, optimizer steps) cell and the steps it
trained past saturation at each stage.

decline_k = mean over old tasks j of (acc(reference row of j, j) − acc(row k, j)), the reference
rows of ``measures.continual.reference_rows`` (prior skills: the base row; trained tasks: the row
right after their last training) — ``metrics.old_task_decline[k]`` when every weight is 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from forgetbench.measures.continual import reference_rows
from forgetbench.report.runs import Run, base_of, family_of
from forgetbench.report.stats.bootstrap import Draw, stacked_correctness


def cell_of(r: Run) -> tuple[float, int] | None:
    """(learning rate of the run's method section, ``max_steps`` per stage), None if either is missing."""
    cfg = r.data.get("config") or {}
    section = cfg.get(r.method)
    lr = section.get("learning_rate") if isinstance(section, dict) else None
    steps = cfg.get("max_steps")
    return (float(lr), int(steps)) if isinstance(lr, (int, float)) and isinstance(steps, int) else None


def steps_past(r: Run) -> list[int | None]:
    """Per trained stage, the optimizer steps trained past saturation (``train_stats[k].saturation``)."""
    stats = r.data.get("train_stats")
    stats = stats if isinstance(stats, list) else []
    sat = [s.get("saturation") if isinstance(s, dict) else None for s in stats] + [None] * r.trained
    return [s.get("steps_past_saturation") if isinstance(s, dict) else None for s in sat[:r.trained]]


@dataclass
class RunScores:
    family: str
    unit: tuple
    cell: tuple | None
    new: list[tuple[str, int]]                      # per stage k: (task, row index) of R[k][new_k]
    base_new: list[tuple[str, int]]                 # per stage k: (task, row index) of R[0][new_k]
    old: list[list[tuple[str, int, int]]]           # per stage k: (task, reference row index, row k index)
    past: list[int | None] = field(default_factory=list)
    origin: Run | None = None                       # the run itself (its config and train stats)


@dataclass
class Values:
    """One run's numbers under one draw: per stage k, new-task accuracy, its base value, the decline."""
    run: RunScores
    new: np.ndarray
    base_new: np.ndarray
    decline: np.ndarray


class SequenceScores:
    """The stacked per-example correctness of a group of runs (one trained sequence)."""

    def __init__(self, runs: list[Run]):
        self.rows: dict[str, list[str]] = {}
        self.runs: list[RunScores] = []
        for r in runs:
            C, T = r.data.get("per_example"), r.trained
            if not r.complete or not isinstance(C, list) or T < 1 or len(C) != len(r.stages):
                continue
            refs = reference_rows(r.stages, r.tasks, r.planned or ())
            new, base_new, old = [], [], []
            for k in range(1, T + 1):
                col = r.column(r.stages[k])
                if col is None or col not in C[k] or col not in C[0]:
                    break
                new.append(self._ref(col, C[k][col]))
                base_new.append(self._ref(col, C[0][col]))
                old.append([(t, self._ref(t, C[s][t])[1], self._ref(t, C[k][t])[1])
                            for j, s in refs[k - 1].items() for t in [r.tasks[j]] if t in C[s] and t in C[k]])
            if len(new) == T:
                self.runs.append(RunScores(family_of(r), (base_of(r), r.seed), cell_of(r), new, base_new, old,
                                           steps_past(r), r))
        self._bits = stacked_correctness(self.rows)

    def _ref(self, task: str, bits: str) -> tuple[str, int]:
        self.rows.setdefault(task, []).append(bits)
        return task, len(self.rows[task]) - 1

    def n_examples(self) -> dict[str, int]:
        return {t: len(v[0]) for t, v in self.rows.items()}

    def clusters(self) -> dict:
        """base -> its seeds, in first-seen order (the bootstrap's units)."""
        out: dict = {}
        for rs in self.runs:
            b, s = rs.unit
            if s not in out.setdefault(b, []):
                out[b].append(s)
        return out

    def values(self, d: Draw) -> list[Values]:
        acc = {t: d.accuracy(t, m) for t, m in self._bits.items()}
        out = []
        for rs in self.runs:
            dec = [float(np.mean([acc[t][a] - acc[t][b] for t, a, b in o])) if o else np.nan for o in rs.old]
            out.append(Values(rs, np.array([acc[t][i] for t, i in rs.new]),
                              np.array([acc[t][i] for t, i in rs.base_new]), np.array(dec)))
        return out
