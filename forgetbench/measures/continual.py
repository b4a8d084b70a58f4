"""Continual-learning metrics over an accuracy matrix ``R[stage][task]`` (row 0 = base).

Conventions (shared with ``results.json``):

- ``stages[0] == "base"``; ``stages[k]`` (k = 1..T) names the task trained at stage k. A task trained
  again carries a suffix, e.g. ``"even@2"``; its column is the part before ``"@"`` unless the full
  name is itself a column.
- ``tasks`` are the columns: the trained tasks plus *prior skills* (evaluated, never trained).
- ``col(k)`` is the column of the task trained at stage k; T is the number of trained stages.

Pure Python (``math`` only); every value is a plain ``float`` or ``None`` (never a fake 0).
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

__all__ = ["continual_metrics", "metric_definitions", "old_task_declines", "reference_rows", "stage_columns"]

_DEFINITIONS = {
    "avg_accuracy": "Final average accuracy: mean_j R[T][j] over the (distinct) trained tasks.",
    "bwt": "Backward transfer (GEM): 1/(T-1) sum_{i<T} (R[T][i] - R[i][i]); negative = forgetting; "
           "None when T < 2.",
    "fwt": "Forward transfer (GEM): 1/(T-1) sum_{i=2..T} (R[i-1][i] - R[0][i]); None when T < 2.",
    "forgetting": "Forgetting (Chaudhry 2018): mean over trained stages j<T of "
                  "max_{l=j..T-1} R[l][j] - R[T][j]; None when T < 2.",
    "old_task_decline": "Per stage k: mean over old tasks j of (ref_j - R[k][j]); old tasks = prior "
                        "skills (ref = R[0][j]) and tasks trained before k (ref = R[s][j], s = their "
                        "latest training stage before k), excluding the task trained at k.",
    "new_task_gain": "Per stage k: R[k][k] - R[0][k] (accuracy gained on the task trained at k).",
    "prior_decline": "Per stage k: mean over prior skills (never trained, not superseded) of "
                     "R[0][j] - R[k][j].",
    "superseded_given_up": "Per stage k: mean over the columns superseded by stage k or earlier (the same "
                           "users' stale tastes, e.g. cohort_a once cohort_a_rotated is trained) of "
                           "ref_j - R[k][j], ref_j = its reference row when it was superseded; None when "
                           "nothing is superseded. Superseded columns are not old tasks (adaptation, not "
                           "forgetting).",
}


def metric_definitions() -> dict[str, str]:
    """One-line definition of every metric returned by :func:`continual_metrics`."""
    return dict(_DEFINITIONS)


def _column_of(stage: str, col_index: dict[str, int]) -> int:
    """Column index of the task trained in ``stage`` ("even@2" -> "even" unless "even@2" is a column)."""
    if stage in col_index:
        return col_index[stage]
    root = stage.split("@", 1)[0]
    if "@" in stage and root in col_index:
        return col_index[root]
    raise ValueError(f"stage {stage!r} names no column of tasks {list(col_index)}"
                     + (f" (nor does its root {root!r})" if "@" in stage else ""))


def stage_columns(stages: Sequence[str], tasks: Sequence[str]) -> list[int]:
    """``[col(1), ..., col(T)]``: the column index trained at each stage (validates names)."""
    if len(set(tasks)) != len(tasks):
        dup = sorted({t for t in tasks if list(tasks).count(t) > 1})
        raise ValueError(f"duplicate task columns: {dup}")
    if not stages or stages[0] != "base":
        raise ValueError(f"stages[0] must be 'base', got {stages[0] if stages else None!r}")
    col_index = {t: j for j, t in enumerate(tasks)}
    return [_column_of(s, col_index) for s in stages[1:]]


def _validate(R, stages, tasks) -> list[list[float]]:
    if len(R) != len(stages):
        raise ValueError(f"R has {len(R)} rows but there are {len(stages)} stages (row 0 = base)")
    rows = []
    for i, row in enumerate(R):
        if len(row) != len(tasks):
            raise ValueError(f"R row {i} ({stages[i]!r}) has {len(row)} entries, expected "
                             f"{len(tasks)} (one per task {list(tasks)})")
        vals = [float(v) for v in row]
        bad = [tasks[j] for j, v in enumerate(vals) if not math.isfinite(v)]
        if bad:
            raise ValueError(f"R row {i} ({stages[i]!r}) has non-finite entries for {bad}")
        rows.append(vals)
    return rows


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _prior_columns(cols: list[int], tasks: Sequence[str], planned: Sequence[str]) -> list[int]:
    later = set(stage_columns(["base", *planned], tasks)) if planned else set()
    return [j for j in range(len(tasks)) if j not in set(cols) | later]


def _superseded_at(cols: list[int], tasks: Sequence[str], supersedes: Mapping[str, str]) -> dict[int, int]:
    """column j -> the first stage k whose task supersedes it (``supersedes``: task -> column)."""
    out: dict[int, int] = {}
    for k, c in enumerate(cols, 1):
        old = supersedes.get(tasks[c])
        if old in tasks and tasks.index(old) not in out:
            out[tasks.index(old)] = k
    return out


def _references(stages, tasks, planned, supersedes) -> list[tuple[dict, dict]]:
    """Per stage k: (old tasks' reference rows, superseded columns' reference rows)."""
    cols = stage_columns(stages, tasks)
    prior = _prior_columns(cols, tasks, planned)
    stale_from = _superseded_at(cols, tasks, supersedes)
    out, last_trained = [], {}                    # column -> latest stage (< k) that trained it
    for k, c in enumerate(cols, 1):
        refs = {j: 0 for j in prior}
        refs.update(last_trained)
        refs.pop(c, None)
        stale = {j: s for j, s in refs.items() if stale_from.get(j, k + 1) <= k}
        out.append(({j: s for j, s in refs.items() if j not in stale}, stale))
        if c not in stale_from or stale_from[c] > k:
            last_trained[c] = k
    return out


def reference_rows(stages: Sequence[str], tasks: Sequence[str], planned: Sequence[str] = (),
                   supersedes: Mapping[str, str] | None = None) -> list[dict]:
    """Per stage k = 1..T, the old tasks' reference rows ``{column j: row s}``: s = 0 for a prior skill,
    s = the latest stage before k that trained j otherwise; the task trained at k is not old, nor is a
    column superseded by a task trained at k or before (``supersedes``: task -> the column whose
    users' tastes it replaces)."""
    return [old for old, _ in _references(stages, tasks, planned, supersedes or {})]


def old_task_declines(R: Sequence[Sequence[float | None]], stages: Sequence[str], tasks: Sequence[str],
                      planned: Sequence[str] = (), supersedes: Mapping[str, str] | None = None) -> list[dict]:
    """Per stage k = 1..T, ``{old task: R[s][j] - R[k][j]}`` (s = its reference row, ``reference_rows``):
    the decline of EACH old task right after every stage, the terms ``old_task_decline`` averages.
    A missing (None) cell leaves its task out of that stage."""
    out = []
    for k, refs in enumerate(reference_rows(stages, tasks, planned, supersedes), 1):
        out.append({tasks[j]: R[s][j] - R[k][j] for j, s in refs.items()
                    if R[s][j] is not None and R[k][j] is not None})
    return out


def continual_metrics(R: Sequence[Sequence[float]], stages: Sequence[str],
                      tasks: Sequence[str], planned: Sequence[str] = (),
                      supersedes: Mapping[str, str] | None = None) -> dict:
    """All continual metrics of :func:`metric_definitions` for one accuracy matrix.

    ``R``: (T+1) x len(tasks), row 0 = base, row k = after training stage k.
    Scalars: ``avg_accuracy``, ``bwt``, ``fwt``, ``forgetting`` (``bwt``/``fwt``/``forgetting`` are
    ``None`` when T < 2). Lists of length T (entry k-1 belongs to stage k): ``old_task_decline``,
    ``new_task_gain``, ``prior_decline`` (entries are ``None`` where their set of tasks is empty).
    With T == 0 (base only) scalars are ``None`` and lists empty. ``planned`` names the stages of the
    whole sequence when ``R`` is partial (a run in progress): a column trained only at a later stage
    is then neither a prior skill nor an old task yet, so partial and final metrics agree.
    ``supersedes`` (task -> column): see ``reference_rows``; adds ``superseded_given_up``.
    """
    cols = stage_columns(stages, tasks)          # cols[k-1] = col(k)
    R = _validate(R, stages, tasks)
    T = len(cols)
    col = [None] + cols                           # col[k] for k = 1..T
    trained = sorted(set(cols))
    prior = _prior_columns(cols, tasks, planned)
    stale_from = _superseded_at(cols, tasks, supersedes or {})

    avg_accuracy = _mean([R[T][j] for j in trained]) if T else None
    bwt = fwt = forgetting = None
    if T >= 2:
        bwt = sum(R[T][col[i]] - R[i][col[i]] for i in range(1, T)) / (T - 1)
        fwt = sum(R[i - 1][col[i]] - R[0][col[i]] for i in range(2, T + 1)) / (T - 1)
        forgetting = _mean([max(R[l][col[j]] for l in range(j, T)) - R[T][col[j]]
                            for j in range(1, T)])

    old_task_decline, new_task_gain, prior_decline, given_up = [], [], [], []
    for k, (ref_rows, stale) in enumerate(_references(stages, tasks, planned, supersedes or {}), 1):
        old_task_decline.append(_mean([R[s][j] - R[k][j] for j, s in ref_rows.items()]))
        given_up.append(_mean([R[s][j] - R[k][j] for j, s in stale.items()]))
        new_task_gain.append(R[k][col[k]] - R[0][col[k]])
        prior_decline.append(_mean([R[0][j] - R[k][j] for j in prior if stale_from.get(j, k + 1) > k]))

    return dict(avg_accuracy=avg_accuracy, bwt=bwt, fwt=fwt, forgetting=forgetting,
                old_task_decline=old_task_decline, new_task_gain=new_task_gain,
                prior_decline=prior_decline, superseded_given_up=given_up)
