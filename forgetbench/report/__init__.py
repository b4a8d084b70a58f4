"""The report over every results.json under an output directory.

``write_report(output_dir)`` writes ``report.md``, ``summary.csv`` (one row per run) and PNG plots under
``plots/``. Per experiment, in reading order: the answer in at most three lines with intervals
(``headline``), the Conjecture for the recommender (``recsys``), RL's Razor as a curve (``curve_section``),
the on-policy pairs (``spectrum``), the predictors with intervals (``predictors``), the verdict table,
the sweep points (``razor``), the summary table (``summary``), accuracy matrices and per-example events
(``matrices``, ``events``), defects, the plots (``plots``); then the incomplete runs. Every interval
says how it was made (t-interval over seeds or units, or the hierarchical bootstrap of ``bootstrap``).

CLI: ``python -m forgetbench.report <output_dir>`` (exit code 2 when the directory is missing or
holds no results.json).
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from forgetbench.errors import ForgetbenchError
from forgetbench.report.curve import curves
from forgetbench.report.curve_section import curve_section
from forgetbench.report.events import events_section
from forgetbench.report.headline import answer_lines, verdict_table
from forgetbench.report.matrices import defects_section, matrix_section
from forgetbench.report.plots import (
    mean_results, plot_decline, plot_heatmap, plot_pareto, plot_per_layer,
    plot_predictors, slug,
)
from forgetbench.report.predictors import predictor_section, predictor_table
from forgetbench.report.razor import sweep_section
from forgetbench.report.recsys import recsys_sections
from forgetbench.report.runs import SUMMARY_METRICS, Run, family_groups, find_runs, group_runs, mean_matrix
from forgetbench.report.spectrum import spectrum_section
from forgetbench.report.statistics import r_squared_quadratic
from forgetbench.report.summary import _n, all_definitions, summary_section
from forgetbench.loop.store import atomic_write_text

#: Above this many groups (sweep points) an experiment's report leaves out the verdict table and the
#: per-group heatmaps (the curves, the point table and the summary carry them).
MAX_GROUPS = 12

__all__ = ["write_report", "plot_heatmap", "r_squared_quadratic", "all_definitions", "main"]


def _experiment_section(exp: str, runs: list[Run], out_dir: Path, prefix: str,
                        defs: dict[str, str]) -> list[str]:
    groups = group_runs(runs)
    domain = ", ".join(sorted({r.domain for r in runs if r.domain})) or "?"
    plots = out_dir / "plots"
    lines = [f"## Experiment `{exp or '(unnamed)'}` — domain {domain}, {_n(len(runs), 'run')}", ""]
    drift_on = sorted({str(r.data["drift_on"]) for r in runs if r.data.get("drift_on")})
    if drift_on:
        lines += [f"Drift measured on: {', '.join(drift_on)} weights "
                  "(`merged` = base + LoRA delta merged after each stage).", ""]
    family_runs = [r for r in runs if r.complete and r.data.get("family")]
    cs = curves(family_runs) if family_runs else []
    table = predictor_table(runs)
    answer = answer_lines(groups, cs, table)
    if answer:
        lines += ["**The answer**", ""] + answer + [""]
    if "recsys" in domain:
        lines += recsys_sections(runs, out_dir, prefix) + [""]
    lines += curve_section(runs, out_dir, prefix, cs) + spectrum_section(runs)
    lines += predictor_section(runs, table=table)
    if len(groups) <= MAX_GROUPS:
        lines += ["", "### Verdict", ""] + verdict_table(groups)
    lines += sweep_section(runs, out_dir, prefix)
    lines += ["", "### Summary", ""] + summary_section(groups, defs)
    lines += ["", "### Accuracy matrices R[stage][task]"]
    if "recsys" in domain:
        lines += ["", "Recommender accuracy = exact segment CTR / oracle-slate CTR; the random "
                      "policy's ratio is shown beside it."]
    lines += matrix_section(groups) + events_section(groups)
    lines += defects_section(groups)

    made: list[tuple[str, Path | None]] = []
    for g, rs in (groups.items() if len(groups) <= MAX_GROUPS else ()):
        stages, tasks, mat = mean_matrix(rs)
        made.append((f"accuracy, {g} (seed mean)", plot_heatmap(
            mean_results(exp, g, stages, tasks, mat), plots / f"{prefix}heatmap_{slug(g)}.png",
            title=f"{exp} — {g} (mean of {len(rs)} seeds)")))
    drawn, pooled = (groups, "") if len(groups) <= MAX_GROUPS else (family_groups(runs), ", points pooled by family")
    made.append(("old-task decline per stage", plot_decline(
        drawn, plots / f"{prefix}old_task_decline.png", f"{exp}: old-task decline (95% CI{pooled})")))
    made.append(("new vs old task accuracy (final stage)", plot_pareto(
        drawn, plots / f"{prefix}pareto.png", f"{exp}: new vs old task accuracy")))
    made.append(("forgetting vs KL and drift", plot_predictors(
        drawn, plots / f"{prefix}forgetting_vs_predictors.png", f"{exp}: what predicts forgetting")))
    made.append(("per-layer drift (final stage)", plot_per_layer(
        drawn, plots / f"{prefix}per_layer_drift.png", f"{exp}: per-layer relative drift{pooled}")))
    lines += ["", "### Plots", ""]
    for caption, p in made:
        if p is not None:
            lines += [f"![{caption}]({p.relative_to(out_dir).as_posix()})", ""]
    return lines


def _csv_text(runs: list[Run], out_dir: Path) -> str:
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


def write_report(output_dir: str | os.PathLike, sources: list | None = None) -> Path:
    """Write report.md, summary.csv and plots/*.png into ``output_dir`` for every results.json under
    ``sources`` (default: ``output_dir`` itself; several directories, e.g. from several machines, make
    one report); return the path of report.md. Raises ForgetbenchError when a directory is missing or
    none holds a readable results.json."""
    out_dir = Path(output_dir)
    dirs = [Path(d) for d in (sources or [out_dir])]
    runs, problems = [], []
    for d in dirs:
        if not d.is_dir():
            raise ForgetbenchError(f"no such output directory: {d}")
        found, bad = find_runs(d)
        runs, problems = runs + found, problems + bad
    if not runs:
        raise ForgetbenchError(f"no results.json found under {', '.join(map(str, dirs))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    defs = all_definitions()
    experiments: dict[str, list[Run]] = {}
    for r in runs:
        experiments.setdefault(r.experiment, []).append(r)
    lines = ["# forgetbench report", "",
             f"{_n(len(runs), 'run')} from {', '.join(f'`{d}`' for d in dirs)} "
             f"({_n(len(experiments), 'experiment')}).", ""]
    for exp, exp_runs in experiments.items():
        prefix = "" if len(experiments) == 1 else f"{slug(exp)}_"
        lines += _experiment_section(exp, exp_runs, out_dir, prefix, defs) + [""]

    lines += ["## Incomplete runs", ""]
    incomplete = [r for r in runs if not r.complete]
    for r in incomplete:
        plan = r.planned
        of = f" of {len(plan)}" if plan is not None else ""
        lines.append(f"- `{r.experiment}` {r.group} seed {r.seed}: {r.trained}{of} stages trained "
                     f"(rows: {', '.join(r.stages) or 'none'}) — `{os.path.relpath(r.path, out_dir)}`")
    if not incomplete:
        lines.append("None: every run trained all the stages its config asks for.")
    if problems:
        lines += ["", "## Unreadable results files", ""] + [f"- {p}" for p in problems]

    atomic_write_text(out_dir / "summary.csv", _csv_text(runs, out_dir))
    report = out_dir / "report.md"
    atomic_write_text(report, "\n".join(lines) + "\n")
    return report


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

