"""The report over every results.json under an output directory.

``write_report(output_dir)`` writes ``report.md`` (summary table with 95% t-intervals over seeds,
metric definitions, a data-driven verdict, for recommender experiments the Conjecture section with
a supported / refuted / inconclusive call per prediction (``report_conjecture``), seed-mean
accuracy matrices, recommender defects, the list of incomplete runs), ``summary.csv`` (one row per run) and PNG plots under ``plots/``.

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
from forgetbench.measures.continual import metric_definitions
from forgetbench.report_events import events_section
from forgetbench.report_razor import sweep_section
from forgetbench.report_recsys import recsys_sections
from forgetbench.report_spectrum import spectrum_section
from forgetbench.report_plots import (
    PREDICTORS, mean_results, plot_decline, plot_heatmap, plot_pareto, plot_per_layer,
    plot_predictors, predictor_r2, slug,
)
from forgetbench.report_runs import (
    SUMMARY_METRICS, Run, final_defects, find_runs, group_runs, mean_matrix, mean_random_ratio,
)
from forgetbench.report_stats import MeanCI, mean_ci, r_squared_quadratic, welch_p
from forgetbench.store import atomic_write_text

__all__ = ["write_report", "plot_heatmap", "r_squared_quadratic", "all_definitions", "main"]

# Definitions of the report's derived columns; the continual metrics come from measures.continual.
_OWN_DEFINITIONS = {
    "final_old_task_decline": "old_task_decline at the last trained stage present",
    "mean_new_task_gain": "mean of new_task_gain over the trained stages present",
    "final_relative_l2": "relative_l2 = ‖θ-θ0‖₂/‖θ0‖₂ (θ0 = base weights) at the last stage",
    "final_angular_deg": "angular_deg = mean over weight matrices of arccos(cos(W, W0)), in degrees, "
                         "at the last stage",
    "final_new_task_forward_kl": "new_task_forward_kl = E_{x~new-task prompts} E_{y~π0(·|x)} "
                                 "Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t)) in nats/sequence, at the last stage",
    "final_old_task_forward_kl": "old_task_forward_kl = the same forward KL on the old tasks' prompts "
                                 "(mean over old tasks), at the last stage",
    "total_train_seconds": "wall-clock training seconds summed over the stages present",
}
_CI_NOTE = ("Cells: mean ± 95% CI half-width over seeds, t_{0.975, n-1}·sd/√n (sample sd); "
            "no ± when n = 1; `(n=k)` when a metric is missing in some runs; — = no data.")


def all_definitions() -> dict[str, str]:
    """One-line definition for every summary column (and the raw continual metrics)."""
    base = dict(metric_definitions())
    out = dict(base)
    for key, text in _OWN_DEFINITIONS.items():
        raw = key.removeprefix("final_").removeprefix("mean_")
        out[key] = f"{text}; {raw}: {base[raw]}" if raw in base else text
    return out


def _decimals(big: float) -> int:
    return 0 if big >= 1000 else 1 if big >= 100 else 3


def fmt(v: float | None) -> str:
    """3 decimals; 1 from 100, 0 from 1000; scientific below 0.001."""
    if v is None:
        return "—"
    return f"{v:.1e}" if 0 < abs(v) < 0.001 else f"{v:.{_decimals(abs(v))}f}"


def fmt_ci(s: MeanCI, n_runs: int | None = None) -> str:
    """``mean ± half`` with the decimals ``fmt`` picks for the larger of the two; ``(n=k)`` when
    ``n_runs`` is given and differs from the number of values."""
    if s.n == 0:
        return "—"
    if s.half is None:
        text = fmt(s.mean)
    else:
        big = max(abs(s.mean), abs(s.half))
        d = _decimals(big)
        text = f"{s.mean:.1e} ± {s.half:.1e}" if 0 < big < 0.001 else f"{s.mean:.{d}f} ± {s.half:.{d}f}"
    return text + (f" (n={s.n})" if n_runs is not None and s.n != n_runs else "")


def _n(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _stats(runs: list[Run], key: str) -> MeanCI:
    return mean_ci(r.summary.get(key) for r in runs)


def verdict(groups: dict[str, list[Run]]) -> str:
    """Compare the group with the lowest mean final old-task decline with every other group
    (complete runs only, unless there are none)."""
    done = {g: rs for g, rs in groups.items() if all(r.complete for r in rs)}
    note = "" if done else " (incomplete runs only)"
    groups = done or groups
    stats = {g: _stats(rs, "final_old_task_decline") for g, rs in groups.items()}
    stats = {g: s for g, s in stats.items() if s.n > 0}
    if not stats:
        return "Verdict: no run has a final old-task decline yet."
    best = min(stats, key=lambda g: stats[g].mean)
    b = stats[best]
    new_b = _stats(groups[best], "final_new_task_accuracy")
    head = f"{best} declined {fmt_ci(b)} (n={b.n})"
    if len(stats) == 1:
        return f"Verdict{note}: only one method has a final old-task decline: {head}; nothing to compare."
    parts = []
    for g in sorted((g for g in stats if g != best), key=lambda g: stats[g].mean):
        o = stats[g]
        p = welch_p(b, o)
        test = f"Welch p = {p:.3g}" if p is not None else "no test with n < 2"
        new_o = _stats(groups[g], "final_new_task_accuracy")
        parts.append(f"{g} {fmt_ci(o)} (n={o.n}; difference {fmt(o.mean - b.mean)}, {test}; "
                     f"final new-task accuracy {fmt_ci(new_b)} vs {fmt_ci(new_o)})")
    return f"Verdict{note}: lowest final old-task decline — {head} vs " + "; ".join(parts) + "."


def _summary_section(groups: dict[str, list[Run]], defs: dict[str, str]) -> list[str]:
    rows = []
    for g, rs in groups.items():
        rows.append([g, str(len(rs))] + [fmt_ci(_stats(rs, k), len(rs)) for k in SUMMARY_METRICS])
    out = _table(["method", "n"] + list(SUMMARY_METRICS), rows)
    out += ["", _CI_NOTE, ""]
    out += [f"- **{k}** — {defs.get(k, '(no definition)')}" for k in SUMMARY_METRICS]
    return out


def _matrix_section(groups: dict[str, list[Run]]) -> list[str]:
    out = []
    for g, rs in groups.items():
        stages, tasks, mat = mean_matrix(rs)
        note = "" if len({len(r.stages) for r in rs}) == 1 else \
            "; rows past a run's last stage average fewer runs"
        out += ["", f"#### {g} (seed mean, n={len(rs)}{note})", ""]
        rows = [[f"{i}: {s}"] + [fmt(v) for v in row] for i, (s, row) in enumerate(zip(stages, mat))]
        rr = mean_random_ratio(rs)
        if rr:
            rows.append(["*random policy*"] + [fmt(rr.get(t)) for t in tasks])
            final = mat[-1]
            rows.append(["*final, (acc−random)/(1−random)*"] + [
                fmt((v - rr[t]) / (1 - rr[t])) if v is not None and t in rr and rr[t] != 1 else "—"
                for t, v in zip(tasks, final)])
        out += _table(["stage \\ task"] + tasks, rows)
    return out


def _defects_section(groups: dict[str, list[Run]]) -> list[str]:
    per = {g: final_defects(rs) for g, rs in groups.items()}
    keys: list[str] = []
    for d in per.values():
        keys += [k for k in d if k not in keys]
    if not keys:
        return []
    rows = [[g] + [fmt_ci(d[k], len(groups[g])) if k in d else "—" for k in keys]
            for g, d in per.items()]
    return ["", "### Recommender defects (final stage, mean ± 95% CI over seeds)", ""] + \
        _table(["method"] + keys, rows)


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
    lines += [f"**{verdict(groups)}**", ""]
    if "recsys" in domain:
        lines += recsys_sections(runs, out_dir, prefix) + [""]
    lines += ["### Summary", ""] + _summary_section(groups, defs)

    r2 = predictor_r2(runs)
    lines += ["", "### What predicts forgetting? (final old-task decline, quadratic least-squares "
                  "fit over all runs)", ""]
    lines += _table(["predictor", "R²", "n runs"],
                    [[k, fmt(r2[k][0]), str(r2[k][1])] for k, _ in PREDICTORS])
    lines += ["", "R² = 1 - SS_res/SS_tot of y ≈ a + b·x + c·x² pooled over methods; a quadratic has "
                  "3 coefficients, so R² means little unless n runs is well above 3."]

    lines += ["", "### Accuracy matrices R[stage][task]"]
    if "recsys" in domain:
        lines += ["", "Recommender accuracy = exact segment CTR / oracle-slate CTR; the random "
                      "policy's ratio is shown beside it."]
    lines += _matrix_section(groups) + events_section(groups)
    lines += _defects_section(groups)
    lines += sweep_section(runs, out_dir, prefix) + spectrum_section(runs)

    made: list[tuple[str, Path | None]] = []
    for g, rs in groups.items():
        stages, tasks, mat = mean_matrix(rs)
        made.append((f"accuracy, {g} (seed mean)", plot_heatmap(
            mean_results(exp, g, stages, tasks, mat), plots / f"{prefix}heatmap_{slug(g)}.png",
            title=f"{exp} — {g} (mean of {len(rs)} seeds)")))
    made.append(("old-task decline per stage", plot_decline(
        groups, plots / f"{prefix}old_task_decline.png", f"{exp}: old-task decline (95% CI)")))
    made.append(("new vs old task accuracy (final stage)", plot_pareto(
        groups, plots / f"{prefix}pareto.png", f"{exp}: new vs old task accuracy")))
    made.append(("forgetting vs KL and drift", plot_predictors(
        groups, plots / f"{prefix}forgetting_vs_predictors.png", f"{exp}: what predicts forgetting")))
    made.append(("per-layer drift (final stage)", plot_per_layer(
        groups, plots / f"{prefix}per_layer_drift.png", f"{exp}: per-layer relative drift")))
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


if __name__ == "__main__":
    sys.exit(main())
