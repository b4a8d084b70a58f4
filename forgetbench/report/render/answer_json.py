"""``answer.json`` beside report.md: the regime table as data, one object per cell, keys ``view``,
``trained``, ``comparison``, ``at``, ``estimate``, ``low``, ``high`` (null without an interval),
``units``, ``resampling``, plus ``measure`` and ``experiment``."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from forgetbench.loop.store import atomic_write_text
from forgetbench.report.stats.views import Row


def answer_rows(rows: list[tuple[str, Row]]) -> list[dict]:
    """(experiment, row) pairs as the JSON objects of answer.json."""
    return [{"experiment": exp, **dataclasses.asdict(r)} for exp, r in rows]


def write_answer(out_dir: Path, rows: list[tuple[str, Row]]) -> Path:
    path = Path(out_dir) / "answer.json"
    atomic_write_text(path, json.dumps(answer_rows(rows), indent=1) + "\n")
    return path
