"""Sweeps: grid expansion, labels, run directories, errors, and a small sweep end to end."""
import json
from pathlib import Path

import pytest

from forgetbench.config.schema import Config
from forgetbench.errors import ForgetbenchError
from forgetbench.launch.experiment import run_experiment
from forgetbench.config.sweep import expand, label_of

ROOT = Path(__file__).resolve().parent.parent


def base(**kw):
    d = Config(methods=["sft", "grpo"], tasks=["sum_to"]).to_dict()
    d.update(kw)
    return d


def test_no_sweep_is_one_point_per_method():
    pts = expand(base())
    assert [(p.family, p.method, p.label) for p in pts] == [("sft", "sft", ""), ("grpo", "grpo", "")]
    assert pts[0].run_dir(Path("out"), 3) == Path("out/sft/seed3")


def test_grid_is_a_cartesian_product_with_overrides_applied():
    pts = expand(base(sweep=[
        {"method": "sft", "grid": {"sft.learning_rate": [1e-4, 3e-4], "max_steps": [5, 10]}},
        {"method": "sft", "family": "hard", "grid": {"task_options.sum_to.teacher": ["hard"]}},
        {"method": "rft", "grid": {"rft.learning_rate": [1e-3]}},          # rft not in methods
    ]))
    assert [p.label for p in pts] == ["lr=0.0001,steps=5", "lr=0.0001,steps=10", "lr=0.0003,steps=5",
                                      "lr=0.0003,steps=10", "teacher=hard"]
    assert pts[3].config["sft"]["learning_rate"] == 3e-4 and pts[3].config["max_steps"] == 10
    assert pts[3].config["methods"] == ["sft"]
    assert pts[4].config["task_options"] == {"sum_to": {"teacher": "hard"}}
    assert pts[4].run_dir(Path("o"), 0) == Path("o/hard/teacher=hard/seed0")
    assert label_of({"tasks": ["subtract", "add"]}) == "tasks=subtract+add"


@pytest.mark.parametrize("sweep, msg", [
    ([{"grid": {"max_steps": [1]}}], "needs a 'method'"),
    ([{"method": "sft", "grid": {"sft.lr": [1]}}], "unknown config field 'sft.lr'"),
    ([{"method": "sft", "grid": {"max_steps": []}}], "non-empty lists"),
    ([{"method": "sft", "grids": {}}], "unknown keys"),
    ([{"method": "rft", "grid": {"max_steps": [1]}}], "no family uses"),
])
def test_bad_sweeps_name_the_problem(sweep, msg):
    with pytest.raises(ForgetbenchError, match=msg):
        expand(base(sweep=sweep))


def test_small_sweep_end_to_end_and_resume(micro_base_path, tmp_path):
    cfg = tmp_path / "sweep.yaml"
    cfg.write_text("""
experiment: sw
model_name_or_path: embedded:micro
tasks: [sum_to]
prior_tasks: [copy]
methods: [sft]
max_steps: 1
prompts_per_step: 4
kl: {n_prompts: 2, n_samples: 1}
sweep:
  - {method: sft, grid: {sft.learning_rate: [1.0e-3, 3.0e-3]}}
""")
    argv = ["--config", str(cfg), "--output_dir", str(tmp_path / "out")]
    assert run_experiment(argv) == 0
    paths = sorted((tmp_path / "out").rglob("results.json"))
    assert [p.relative_to(tmp_path / "out").as_posix() for p in paths] == [
        "sft/lr=0.001/seed0/results.json", "sft/lr=0.003/seed0/results.json"]
    rs = [json.loads(p.read_text()) for p in paths]
    assert [(r["family"], r["label"], r["config"]["sft"]["learning_rate"]) for r in rs] == [
        ("sft", "lr=0.001", 1e-3), ("sft", "lr=0.003", 3e-3)]
    # a higher learning rate moves the weights further on the same data
    assert rs[1]["drift"][0]["relative_l2"] > rs[0]["drift"][0]["relative_l2"] > 0
    before = [p.stat().st_mtime_ns for p in paths]
    assert run_experiment(argv) == 0                           # finished points are skipped
    assert [p.stat().st_mtime_ns for p in paths] == before
    assert "Sweep points: Pareto frontiers" in (tmp_path / "out" / "report.md").read_text()
