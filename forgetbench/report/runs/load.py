"""Finding and reading every results.json under a directory into ``Run`` objects."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from forgetbench.report.runs.run import Run


def find_runs(output_dir: Path) -> tuple[list[Run], list[str]]:
    """Every readable results.json under ``output_dir`` (recursively, sorted), and a note per file
    that could not be read."""
    runs, problems = [], []
    for p in sorted(Path(output_dir).rglob("results.json")):
        try:
            data = json.loads(p.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            problems.append(f"{p}: {e}")
            print(f"forgetbench.report: skipping unreadable {p}: {e}", file=sys.stderr)
            continue
        runs.append(Run(p, data))
    runs.sort(key=lambda r: (r.experiment, r.group, str(r.seed)))
    return runs, problems
