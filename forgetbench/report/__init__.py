"""The report over every results.json under an output directory.

``write_report(output_dir)`` writes ``report.md``, ``summary.csv`` (one row per run) and PNG plots under
``plots/``. Per experiment, in reading order: the answer in at most three lines with intervals
(``sections.headline``), the Conjecture and the budget section for the recommender
(``sections.conjecture``, ``sections.budget``), RL's Razor as a curve (``sections.curve``), the on-policy
pairs (``sections.spectrum``), the predictors with intervals (``sections.predictors``), the verdict
table, the sweep points (``sections.sweep``), the summary table (``sections.summary``), accuracy
matrices and per-example events (``sections.matrices``, ``sections.events``), defects, the plots
(``render.plots``); then the incomplete runs. Every interval says how it was made (t-interval over
seeds or units, or the hierarchical bootstrap of ``stats.bootstrap``).

Three tiers, imports pointing down only: ``runs`` (tier 1: results.json -> ``Run``, grouping,
matrices) <- ``stats`` (tier 2: numbers; no markdown, no matplotlib) <- ``sections`` (tier 3a:
markdown) and ``render`` (tier 3b: matplotlib figures, report.md and summary.csv).

CLI: ``python -m forgetbench.report <output_dir>`` (exit code 2 when the directory is missing or
holds no results.json).
"""
from __future__ import annotations

import argparse
import sys

from forgetbench.errors import ForgetbenchError
from forgetbench.report.render.plots import plot_heatmap
from forgetbench.report.render.report import write_report
from forgetbench.report.sections.summary import all_definitions
from forgetbench.report.stats.fits import r_squared_quadratic

__all__ = ["write_report", "plot_heatmap", "r_squared_quadratic", "all_definitions", "main"]


def main(argv: list[str] | None = None, prog: str = "python -m forgetbench.report") -> int:
    ap = argparse.ArgumentParser(prog=prog, description="Write report.md, summary.csv and plots for the "
                                                        "results.json files under one or more directories.")
    ap.add_argument("output_dir", nargs="+", help="directories searched recursively for results.json")
    ap.add_argument("--out", help="where the report goes (default: the first directory)")
    args = ap.parse_args(argv)
    try:
        path = write_report(args.out or args.output_dir[0], sources=args.output_dir)
    except ForgetbenchError as e:
        print(f"forgetbench.report: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0

