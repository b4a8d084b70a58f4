"""report.md, summary.csv and plots/ for the runs under one or more directories: per experiment, the
sections of ``report.sections`` in reading order with the figures of ``render.plots`` and
``render.sweep_plots`` drawn beside them; then the incomplete runs."""
from __future__ import annotations

import os
from pathlib import Path

from forgetbench.errors import ForgetbenchError
from forgetbench.loop.store import atomic_write_text
from forgetbench.report.render.answer_json import write_answer
from forgetbench.report.render.figure import slug
from forgetbench.report.render.plots import (
    mean_results, plot_decline, plot_heatmap, plot_pareto, plot_per_layer, plot_predictors,
)
from forgetbench.report.render.summary_csv import csv_text
from forgetbench.report.render.sweep_plots import plot_curves, plot_efficiency, plot_frontiers
from forgetbench.report.runs import Run, family_groups, find_runs, group_runs, mean_matrix, trained_sequence
from forgetbench.report.sections.budget import budget_section
from forgetbench.report.sections.conjecture import conjecture_section
from forgetbench.report.sections.curve import curve_section
from forgetbench.report.sections.events import events_section
from forgetbench.report.sections.factorial import factorial_section
from forgetbench.report.sections.recsys_dynamics import recsys_dynamics_section
from forgetbench.report.sections.recsys_factorial import recsys_factorial_section
from forgetbench.report.sections.format import plural
from forgetbench.report.sections.headline import answer_lines, verdict_table
from forgetbench.report.sections.matrices import defects_section, matrix_section
from forgetbench.report.sections.predictors import predictor_section
from forgetbench.report.sections.regime import regime_table
from forgetbench.report.sections.spectrum import spectrum_section
from forgetbench.report.sections.summary import all_definitions, summary_section
from forgetbench.report.sections.sweep import sweep_section
from forgetbench.report.stats.budget import efficiency_rows, has_budget_axis
from forgetbench.report.stats.conjecture import eligible, points_of
from forgetbench.report.stats.curve import Curves, curves
from forgetbench.report.stats.factorial import Factorial, experiment_factorials
from forgetbench.report.stats.predictors import predictor_table
from forgetbench.report.stats.recsys_dynamics import recsys_dynamics, recsys_dynamics_rows
from forgetbench.report.stats.recsys_factorial import recsys_factorial, recsys_factorial_rows
from forgetbench.report.stats.views import Row, experiment_rows

#: Above this many groups (sweep points) an experiment's report leaves out the verdict table and the
#: per-group heatmaps (the curves, the point table and the summary carry them).
MAX_GROUPS = 12


def _link(p: Path, out_dir: Path) -> str:
    return p.relative_to(out_dir).as_posix()


def _curve_images(cs: list[Curves], family_runs: list[Run], out_dir: Path, prefix: str) -> dict[str, str]:
    """Draw each curve group's figure; trained sequence -> its path relative to the report."""
    images = {}
    for c in cs:
        name = f"{prefix}razor_curve_{c.trained.replace(' → ', '-')}.png"
        rs = [r for r in family_runs if trained_sequence(r) == c.trained]
        images[c.trained] = _link(plot_curves(c, rs, out_dir / "plots" / name, c.trained), out_dir)
    return images


def _efficiency_image(runs: list[Run], out_dir: Path, prefix: str) -> str | None:
    """Draw the sample-efficiency figure when the budget section shows; its path relative to the report."""
    rows = efficiency_rows(points_of(eligible(runs), out_dir))
    if not has_budget_axis(rows):
        return None
    return _link(plot_efficiency(rows, out_dir / "plots" / f"{prefix}sample_efficiency.png",
                                 "Sample efficiency (best lr per budget, 95% CI over seeds)"), out_dir)


def _experiment_plots(exp: str, runs: list[Run], groups: dict[str, list[Run]], plots: Path,
                      prefix: str) -> list[tuple[str, Path | None]]:
    """(caption, path or None) of the experiment's per-group figures, drawn."""
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
    return made


def experiment_section(exp: str, runs: list[Run], out_dir: Path, prefix: str, defs: dict[str, str],
                       regime: list[Row] = (), factorials: list[Factorial] = (),
                       fact: tuple = ((), float("nan")), dyn: tuple = ((), float("nan"))) -> list[str]:
    """The markdown of one experiment, its figures drawn under ``out_dir/plots`` with ``prefix``;
    ``regime``: its rows of the regime table (``stats.views``), shown first; ``factorials``: its LLM
    2×2s (``stats.factorial``); ``fact``: its recommender 2×2 (``stats.recsys_factorial``); ``dyn``: its
    dynamics and replay comparisons (``stats.recsys_dynamics``)."""
    groups = group_runs(runs)
    domain = ", ".join(sorted({r.domain for r in runs if r.domain})) or "?"
    lines = [f"## Experiment `{exp or '(unnamed)'}` — domain {domain}, {plural(len(runs), 'run')}", ""]
    drift_on = sorted({str(r.data["drift_on"]) for r in runs if r.data.get("drift_on") not in (None, "", "weights")})
    if drift_on:
        lines += [f"Drift measured on: {', '.join(drift_on)} weights "
                  "(`merged` = base + LoRA delta merged after each stage).", ""]
    family_runs = [r for r in runs if r.complete and r.data.get("family")]
    cs = curves(family_runs) if family_runs else []
    table = predictor_table(runs)
    answer = answer_lines(groups, cs, table)
    lines += regime_table(list(regime)) + ([""] if regime else [])
    if answer:
        lines += ["**The answer**", ""] + answer + [""]
    if "recsys" in domain:
        lines += conjecture_section(runs, out_dir) + recsys_factorial_section(list(fact[0]), fact[1]) + \
            recsys_dynamics_section(list(dyn[0]), dyn[1]) + \
            budget_section(runs, out_dir, _efficiency_image(runs, out_dir, prefix)) + [""]
    lines += factorial_section(list(factorials))
    lines += curve_section(runs, cs, _curve_images(cs, family_runs, out_dir, prefix)) + spectrum_section(runs)
    lines += predictor_section(runs, table=table)
    if len(groups) <= MAX_GROUPS:
        lines += ["", "### Verdict", ""] + verdict_table(groups)
    frontiers = plot_frontiers(family_runs, out_dir / "plots" / f"{prefix}frontiers.png",
                               "Pareto frontiers per family") if family_runs else None
    lines += sweep_section(runs, frontiers and _link(frontiers, out_dir))
    lines += ["", "### Summary", ""] + summary_section(groups, defs)
    lines += ["", "### Accuracy matrices R[stage][task]"]
    if "recsys" in domain:
        lines += ["", "Recommender accuracy = exact segment CTR / oracle-slate CTR; the random "
                      "policy's ratio is shown beside it."]
    lines += matrix_section(groups) + events_section(groups)
    lines += defects_section(groups)
    lines += ["", "### Plots", ""]
    for caption, p in _experiment_plots(exp, runs, groups, out_dir / "plots", prefix):
        if p is not None:
            lines += [f"![{caption}]({_link(p, out_dir)})", ""]
    return lines


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
             f"{plural(len(runs), 'run')} from {', '.join(f'`{d}`' for d in dirs)} "
             f"({plural(len(experiments), 'experiment')}).", ""]
    answers = []
    for exp, exp_runs in experiments.items():
        prefix = "" if len(experiments) == 1 else f"{slug(exp)}_"
        regime, factorials = experiment_rows(exp_runs), experiment_factorials(exp_runs)
        recsys = any(r.domain == "recsys" for r in exp_runs)
        fact = recsys_factorial(exp_runs, out_dir) if recsys else ([], 0.0)
        dyn = recsys_dynamics(exp_runs) if recsys else ([], 0.0)
        answers += [(exp, row) for row in regime + recsys_factorial_rows(fact[0]) + recsys_dynamics_rows(dyn[0])]
        answers += [(exp, row) for f in factorials for row in f.rows]
        lines += experiment_section(exp, exp_runs, out_dir, prefix, defs, regime, factorials, fact, dyn) + [""]

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

    atomic_write_text(out_dir / "summary.csv", csv_text(runs, out_dir))
    write_answer(out_dir, answers)
    report = out_dir / "report.md"
    atomic_write_text(report, "\n".join(lines) + "\n")
    return report
