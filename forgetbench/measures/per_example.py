"""Per-example forgetting over a correctness matrix ``C[row][task]`` (row 0 = base).

``C[k][j]`` is a string with one character per eval example of task j, in the fixed eval order:
``"1"`` = the greedy completion was correct (score 1) after stage k, ``"0"`` = not. Old tasks and
their reference rows are those of ``old_task_decline`` (``continual.reference_rows``). Per stage k:

- ``forgetting_events`` = sum over old tasks j of #{i : C[ref_j][j][i] = 1 and C[k][j][i] = 0}
- ``learning_events``   = sum over old tasks j of #{i : C[ref_j][j][i] = 0 and C[k][j][i] = 1}
- ``turnover``          = forgetting_events + learning_events
- ``old_examples``      = sum over old tasks of their number of eval examples (the denominator)

Mean decline = (forgetting_events - learning_events) / old_examples only when every old task has the
same number of examples; the events show how much churn a small mean decline can hide.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from forgetbench.measures.continual import reference_rows

EVENTS = ("forgetting_events", "learning_events", "turnover", "old_examples")


def correctness(scores: Sequence[float]) -> str:
    """``[1.0, 0.0, 0.5] -> "100"``: an example is right only with a full score."""
    return "".join("1" if s >= 1.0 else "0" for s in scores)


def example_events(C: Sequence[dict], stages: Sequence[str], tasks: Sequence[str],
                   planned: Sequence[str] = (), supersedes: Mapping[str, str] | None = None) -> dict[str, list[int]]:
    """The lists of :data:`EVENTS`, entry k-1 for stage k; a task missing from a row counts nothing.
    ``planned`` and ``supersedes``: as in ``continual.reference_rows``."""
    if len(C) != len(stages):
        raise ValueError(f"per_example has {len(C)} rows but there are {len(stages)} stages")
    out = {name: [] for name in EVENTS}
    for k, refs in enumerate(reference_rows(stages, tasks, planned, supersedes), 1):
        forgot = learned = n = 0
        for j, s in refs.items():
            ref, now = C[s].get(tasks[j]), C[k].get(tasks[j])
            if ref is None or now is None:
                continue
            if len(ref) != len(now):
                raise ValueError(f"task {tasks[j]!r}: {len(ref)} examples at row {s}, {len(now)} at row {k}")
            forgot += sum(a == "1" and b == "0" for a, b in zip(ref, now))
            learned += sum(a == "0" and b == "1" for a, b in zip(ref, now))
            n += len(now)
        for name, v in zip(EVENTS, (forgot, learned, forgot + learned, n)):
            out[name].append(v)
    return out
