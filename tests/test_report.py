"""The report: numbers in the summary table against hand-computed means and t-intervals, files,
CLI exit codes, and the quadratic R² on points with known answers."""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from forgetbench.report import main, plot_heatmap, r_squared_quadratic, write_report  # noqa: E402
from forgetbench.report.stats.statistics import mean_ci, t_quantile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASKS = ["copy", "reverse", "a", "b"]          # two prior skills, then the two trained tasks
STAGES = ["base", "a", "b"]
T975_1 = 12.706204736                           # t_{0.975, 1}


def _results(method: str, seed: int, acc, metrics: dict, *, drift_rel, kl_new, kl_old,
             train_s, stages=STAGES, per_layer=None, extra=None) -> dict:
    n = len(stages) - 1
    return {
        "experiment": "toy", "domain": "llm", "method": method, "seed": seed,
        "config": {"experiment": "toy", "tasks": ["a", "b"], "max_stages": None},
        "stages": stages, "tasks": TASKS, "accuracy": acc, "metrics": metrics,
        "drift": [{"l2": 1.0, "relative_l2": r, "relative_l2_prev": r, "angular_deg": 10 * r,
                   "update_sparsity": 0.1, "update_rank_frac": 1.0,
                   "per_layer": per_layer or {"layers.0.q_proj": r, "layers.1.q_proj": 2 * r}}
                  for r in drift_rel[:n]],
        "kl": [{"new_task_forward_kl": a, "old_task_forward_kl": b}
               for a, b in zip(kl_new[:n], kl_old[:n])],
        "timing": [{"train": t, "eval": 1.0, "measure": 2.0} for t in train_s[:n]],
        **(extra or {}),
    }


def _metrics(avg, bwt, fwt, forg, decline, gain):
    return {"avg_accuracy": avg, "bwt": bwt, "fwt": fwt, "forgetting": forg,
            "old_task_decline": decline, "new_task_gain": gain, "prior_decline": decline}


# Four runs, 3x4 matrices. Metric values are chosen for easy hand statistics (the report copies
# them from results.json; it does not recompute them).
RUNS = {
    ("sft", 0): _results(
        "sft", 0,
        [[1.0, 1.0, 0.2, 0.1], [0.8, 0.9, 0.9, 0.2], [0.6, 0.7, 0.5, 1.0]],
        _metrics(0.2, -0.4, 0.1, 0.4, [0.10, 0.2], [0.7, 0.9]),
        drift_rel=[0.05, 0.10], kl_new=[5.0, 10.0], kl_old=[1.0, 2.0], train_s=[10.0, 20.0]),
    ("sft", 1): _results(
        "sft", 1,
        [[1.0, 1.0, 0.2, 0.1], [0.7, 0.9, 1.0, 0.2], [0.4, 0.5, 0.6, 0.8]],
        _metrics(0.4, -0.2, 0.3, 0.2, [0.15, 0.4], [0.8, None]),
        drift_rel=[0.06, 0.20], kl_new=[6.0, 12.0], kl_old=[1.5, 4.0], train_s=[20.0, 30.0]),
    ("grpo", 0): _results(
        "grpo", 0,
        [[1.0, 1.0, 0.2, 0.1], [1.0, 1.0, 0.6, 0.1], [0.9, 1.0, 0.6, 0.5]],
        _metrics(0.5, 0.0, 0.0, 0.01, [0.02, 0.05], [0.4, 0.4]),
        drift_rel=[0.01, 0.02], kl_new=[1.0, 2.0], kl_old=[0.1, 0.2], train_s=[30.0, 30.0]),
    ("grpo", 1): _results(
        "grpo", 1,
        [[1.0, 1.0, 0.2, 0.1], [1.0, 0.9, 0.7, 0.1], [0.9, 0.9, 0.7, 0.6]],
        _metrics(0.7, 0.0, None, 0.03, [0.03, 0.07], [0.5, 0.5]),
        drift_rel=[0.01, 0.03], kl_new=[1.5, 3.0], kl_old=[0.1, 0.3], train_s=[40.0, 40.0]),
}


def _write_runs(root: Path, runs: dict) -> None:
    for (method, seed), res in runs.items():
        d = root / method / f"seed{seed}"
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps(res))


def _table_rows(md: str, first_header: str) -> dict[str, dict[str, str]]:
    """Rows of the first markdown table whose header starts with ``| first_header |``."""
    lines = md.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"| {first_header} |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def _ci(mean: float, half: float) -> str:
    return f"{mean:.3f} ± {half:.3f}"


def test_t_quantiles_match_tables():
    assert t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert t_quantile(0.975, 2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-4)
    assert t_quantile(0.975, 30) == pytest.approx(2.0423, abs=1e-4)
    s = mean_ci([0.2, 0.4])
    assert (s.mean, s.n) == (pytest.approx(0.3), 2)
    assert s.half == pytest.approx(T975_1 * math.sqrt(0.02) / math.sqrt(2))  # = 1.2706
    one = mean_ci([0.5, None])
    assert (one.mean, one.half, one.n) == (0.5, None, 1)
    assert mean_ci([None]).n == 0


def test_summary_table_numbers(tmp_path):
    _write_runs(tmp_path, RUNS)
    report = write_report(tmp_path)
    assert report == tmp_path / "report.md"
    md = report.read_text()
    rows = _table_rows(md, "method")
    sft, grpo = rows["sft"], rows["grpo"]
    assert sft["n"] == "2" and grpo["n"] == "2"
    # avg_accuracy 0.2, 0.4 -> mean 0.30, sd 0.1414, half 12.706 * 0.1414 / 1.414 = 1.2706
    assert sft["avg_accuracy"] == _ci(0.30, 1.2706) == "0.300 ± 1.271"
    # grpo avg 0.5, 0.7 -> 0.60 ± 1.2706
    assert grpo["avg_accuracy"] == _ci(0.60, 1.2706)
    # bwt -0.4, -0.2 -> -0.30 ± 1.2706 ; grpo 0, 0 -> 0 ± 0
    assert sft["bwt"] == _ci(-0.30, 1.2706)
    assert grpo["bwt"] == _ci(0.0, 0.0)
    # fwt: grpo has a null in seed 1 -> n = 1, no half-width
    assert sft["fwt"] == _ci(0.20, 1.2706)
    assert grpo["fwt"] == "0.000 (n=1)"
    # forgetting 0.4, 0.2 -> 0.3 ± 1.2706 ; grpo 0.01, 0.03 -> 0.02 ± 0.12706
    assert sft["forgetting"] == _ci(0.30, 1.2706)
    assert grpo["forgetting"] == _ci(0.02, 0.12706)
    # final old_task_decline: sft 0.2, 0.4 ; grpo 0.05, 0.07 -> 0.06 ± 12.706 * 0.01414 / 1.414
    assert sft["final_old_task_decline"] == _ci(0.30, 1.2706)
    assert grpo["final_old_task_decline"] == _ci(0.06, 0.12706)
    # mean new_task_gain per run: sft 0.8 and 0.8 (the null is skipped) -> 0.8 ± 0 ; grpo 0.4, 0.5
    assert sft["mean_new_task_gain"] == _ci(0.80, 0.0)
    assert grpo["mean_new_task_gain"] == _ci(0.45, 0.63531)
    # final relative_l2: sft 0.10, 0.20 -> 0.15 ± 0.63531 ; angular = 10x
    assert sft["final_relative_l2"] == _ci(0.15, 0.63531)
    assert sft["final_angular_deg"] == _ci(1.5, 6.3531)
    # final KLs: sft new 10, 12 -> 11 ± 12.706 ; old 2, 4 -> 3 ± 12.706
    assert sft["final_new_task_forward_kl"] == _ci(11.0, 12.706)
    assert sft["final_old_task_forward_kl"] == _ci(3.0, 12.706)
    # total train seconds: sft 30, 50 -> 40 ± 127.06 (one decimal when a number reaches 100)
    assert sft["total_train_seconds"] == "40.0 ± 127.1"
    assert grpo["total_train_seconds"] == "70.0 ± 127.1"

    # every metric has its one-line definition below the table
    for key in ("avg_accuracy", "bwt", "fwt", "forgetting", "final_old_task_decline",
                "mean_new_task_gain", "final_relative_l2", "final_angular_deg",
                "final_new_task_forward_kl", "final_old_task_forward_kl", "total_train_seconds"):
        assert f"- **{key}** — " in md
    # the verdict is a short table, lowest decline first: grpo, then sft 0.240 higher
    verdict = md.split("### Verdict")[1]
    rows = _table_rows(verdict, "group")
    assert list(rows) == ["grpo", "sft"]
    assert rows["grpo"]["final old-task decline"] == "0.060 ± 0.127" and rows["grpo"]["difference"] == "—"
    assert rows["sft"]["final old-task decline"] == "0.300 ± 1.271" and rows["sft"]["difference"] == "0.240"
    assert rows["sft"]["n"] == "2"
    # the answer at the top names the lowest-decline group against the next
    answer = md.split("**The answer**")[1].split("###")[0]
    assert "**Lowest final old-task decline**: grpo 0.060 ± 0.127 vs sft 0.300 ± 1.271" in answer

    # seed-mean accuracy matrix for sft: final row (0.6+0.4)/2, (0.7+0.5)/2, (0.5+0.6)/2, 0.9
    mat = _table_rows(md.split("#### sft")[1], "stage \\ task")
    assert [mat["2: b"][t] for t in TASKS] == ["0.500", "0.600", "0.550", "0.900"]
    assert [mat["1: a"][t] for t in TASKS] == ["0.750", "0.900", "0.950", "0.200"]
    assert "None: every run trained all the stages" in md


def test_files_and_csv(tmp_path):
    _write_runs(tmp_path, RUNS)
    write_report(tmp_path)
    for name in ("report.md", "summary.csv"):
        assert (tmp_path / name).is_file()
    plots = tmp_path / "plots"
    expected = ["heatmap_sft.png", "heatmap_grpo.png", "old_task_decline.png", "pareto.png",
                "forgetting_vs_predictors.png", "per_layer_drift.png"]
    for name in expected:
        p = plots / name
        assert p.is_file() and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"(plots/{name})" in (tmp_path / "report.md").read_text()
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    by = {(r["method"], r["seed"]): r for r in rows}
    r = by[("sft", "1")]
    assert r["experiment"] == "toy" and r["label"] == ""
    assert float(r["avg_accuracy"]) == pytest.approx(0.4)
    assert float(r["final_old_task_decline"]) == pytest.approx(0.4)
    assert float(r["mean_new_task_gain"]) == pytest.approx(0.8)
    assert float(r["total_train_seconds"]) == pytest.approx(50.0)
    assert float(r["final_new_task_accuracy"]) == pytest.approx(0.8)       # R[2][b]
    # old tasks at the final stage: copy, reverse (prior) and a (trained before): (0.4+0.5+0.6)/3
    assert float(r["final_old_task_accuracy"]) == pytest.approx(0.5)
    assert by[("grpo", "1")]["fwt"] == ""                                 # null stays missing


def test_incomplete_run_and_labels(tmp_path):
    runs = dict(RUNS)
    short = _results("sft", 2, [[1.0, 1.0, 0.2, 0.1], [0.8, 0.9, 0.9, 0.2]],
                     _metrics(0.9, None, None, None, [0.1], [0.7]),
                     drift_rel=[0.05], kl_new=[5.0], kl_old=[1.0], train_s=[10.0],
                     stages=["base", "a"])
    runs[("sft", 2)] = short
    _write_runs(tmp_path, runs)
    labelled = dict(RUNS[("grpo", 0)], label="lr1e-4")
    d = tmp_path / "sweep" / "grpo" / "lr1e-4" / "seed0"
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(labelled))
    md = write_report(tmp_path).read_text()
    rows = _table_rows(md, "method")
    # the incomplete run forms its own marked row: its "final" values are from stage 1
    assert rows["sft"]["n"] == "2" and rows["sft"]["final_old_task_decline"] == _ci(0.30, 1.2706)
    assert rows["sft (incomplete)"]["n"] == "1"
    assert rows["sft (incomplete)"]["final_old_task_decline"] == "0.100"
    assert rows["sft (incomplete)"]["bwt"] == "—"
    assert rows["grpo/lr1e-4"]["n"] == "1"
    assert rows["grpo/lr1e-4"]["avg_accuracy"] == "0.500"         # n = 1: no interval
    # the verdict compares complete groups only: grpo/lr1e-4 (0.05, n=1) < grpo 0.06 < sft 0.30
    rows = _table_rows(md.split("### Verdict")[1], "group")
    assert list(rows) == ["grpo/lr1e-4", "grpo", "sft"]
    assert rows["grpo/lr1e-4"]["final old-task decline"] == "0.050"
    assert rows["grpo"]["difference"] == "0.010" and rows["grpo"]["Welch p"] == "n < 2"
    assert rows["sft"]["final old-task decline"] == "0.300 ± 1.271"
    incomplete = md.split("## Incomplete runs")[1]
    assert "sft seed 2: 1 of 2 stages trained" in incomplete
    assert "seed 0" not in incomplete


def test_recsys_defects_and_random_ratio(tmp_path):
    runs = {}
    for (method, seed), res in RUNS.items():
        res = dict(res, domain="recsys", experiment="rec",
                   random_ratio={"copy": 0.2, "reverse": 0.2, "a": 0.5, "b": 0.5},
                   defects=[{"gini": 0.5}, {"gini": 0.9 if method == "grpo" else 0.4 + 0.2 * seed,
                                            "coverage": 0.3, "note": "text"}])
        runs[(method, seed)] = res
    _write_runs(tmp_path, runs)
    md = write_report(tmp_path).read_text()
    defects = _table_rows(md.split("Recommender defects")[1], "method")
    assert defects["sft"]["gini"] == _ci(0.5, 1.2706)              # 0.4, 0.6
    assert defects["grpo"]["gini"] == _ci(0.9, 0.0)
    assert "note" not in md.split("Recommender defects")[1].splitlines()[2]
    mat = _table_rows(md.split("#### sft")[1], "stage \\ task")
    assert [mat["*random policy*"][t] for t in TASKS] == ["0.200", "0.200", "0.500", "0.500"]
    # normalised final: (0.5-0.2)/0.8, (0.6-0.2)/0.8, (0.55-0.5)/0.5, (0.9-0.5)/0.5
    norm = mat["*final, (acc−random)/(1−random)*"]
    assert [norm[t] for t in TASKS] == ["0.375", "0.500", "0.100", "0.800"]


def test_cli_exit_codes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    missing = tmp_path / "nope"
    p = subprocess.run([sys.executable, "-m", "forgetbench.report", str(missing)],
                       capture_output=True, text=True, env=env, cwd=REPO)
    assert p.returncode == 2
    assert str(missing) in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    _write_runs(tmp_path / "ok", RUNS)
    assert main([str(tmp_path / "ok")]) == 0


def test_plot_heatmap_single_results(tmp_path):
    res = dict(RUNS[("sft", 0)])
    res["accuracy"] = [row[:] for row in res["accuracy"]]
    res["accuracy"][2][3] = None                                          # null cell stays blank
    out = plot_heatmap(res, tmp_path / "h.png")
    assert out.is_file() and out.stat().st_size > 1000


def test_r_squared_quadratic_known_points():
    xs = [0, 1, 2, 3, 4, 5]
    assert r_squared_quadratic(xs, [2 * x * x - 3 * x + 1 for x in xs]) == pytest.approx(1.0)
    # By hand: x = -2..2, y = (0, 0, 1, 0, 0). Normal equations (Σx = Σx³ = 0, Σx² = 10, Σx⁴ = 34):
    # b = 0; 5a + 10c = 1, 10a + 34c = 0 -> c = -1/7, a = 17/35. Fitted (-3, 12, 17, 12, -3)/35,
    # SS_res = (9 + 144 + 324 + 144 + 9)/35² = 18/35, SS_tot = 0.8 -> R² = 1 - (18/35)/0.8 = 5/14.
    assert r_squared_quadratic([-2, -1, 0, 1, 2], [0, 0, 1, 0, 0]) == pytest.approx(5 / 14)
    # a straight line is a quadratic too; missing values are skipped
    assert r_squared_quadratic([1, 2, None, 3], [2, 4, 7, 6]) == pytest.approx(1.0)
    assert r_squared_quadratic([1, 2], [1, 2]) is None                    # < 3 distinct x
    assert r_squared_quadratic([1, 2, 3], [5, 5, 5]) is None              # constant y
