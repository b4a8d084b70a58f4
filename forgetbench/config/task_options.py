"""``task_options`` entries for tasks a run does not use: a note, not an error (a config narrowed
with ``--tasks`` keeps working); a name close to one of the run's tasks is a typo and fails."""
from __future__ import annotations

import difflib

_NOTED: set[str] = set()


def prune_task_options(cfg, fail) -> None:
    """Drop options for tasks outside ``tasks + prior_tasks`` (one note each); ``fail`` on a likely typo."""
    used = cfg.tasks + cfg.prior_tasks
    for name in list(cfg.task_options):
        if name in used:
            continue
        close = difflib.get_close_matches(name, [t for t in used if t not in cfg.task_options], n=1, cutoff=0.75)
        if close:
            fail(f"task_options names {name!r}, which is neither in tasks nor in prior_tasks "
                 f"(did you mean {close[0]}?)")
        _note_once(f"forgetbench: note: task_options for {name!r} ignored (not a task of this run)")
        del cfg.task_options[name]


def _note_once(line: str) -> None:
    """Print a one-line note once per process (a sweep validates every point)."""
    if line not in _NOTED:
        _NOTED.add(line)
        print(line, flush=True)
