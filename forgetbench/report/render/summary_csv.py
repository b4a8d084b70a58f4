"""summary.csv: one row per run with its summary values, stages trained and planned, and path."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from forgetbench.report.runs import SUMMARY_METRICS, Run


def csv_text(runs: list[Run], out_dir: Path) -> str:
    """The text of summary.csv for ``runs`` (paths relative to ``out_dir``)."""
    extra = ["final_new_task_accuracy", "final_old_task_accuracy"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["experiment", "domain", "method", "label", "seed", *SUMMARY_METRICS, *extra,
                "stages_trained", "stages_planned", "complete", "path"])
    for r in runs:
        vals = ["" if r.summary.get(k) is None else repr(r.summary[k]) for k in (*SUMMARY_METRICS, *extra)]
        plan = r.planned
        w.writerow([r.experiment, r.domain, r.method, r.label, r.seed, *vals, r.trained,
                    "" if plan is None else len(plan), r.complete,
                    os.path.relpath(r.path, out_dir)])
    return buf.getvalue()
