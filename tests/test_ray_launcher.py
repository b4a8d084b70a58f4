"""``launcher: ray``: the same numbers as serial, resume, a failing run named while the others finish."""
import json
import sys
from pathlib import Path

import pytest

from forgetbench.config.schema import Config, RayParams
from forgetbench.errors import ForgetbenchError
from forgetbench.launch.experiment import run_experiment
from forgetbench.launch.on_ray import accelerate_command, resolve_threads, run_size, start
from forgetbench.run import main as run_main

ROOT = Path(__file__).resolve().parent.parent
SWEEP = """
experiment: sw
model_name_or_path: embedded:micro
tasks: [sum_to]
prior_tasks: [copy]
methods: [sft]
max_steps: 2
prompts_per_step: 4
threads: 1
kl: {n_prompts: 2, n_samples: 1}
sweep:
  - {method: sft, grid: {sft.learning_rate: [1.0e-3, 3.0e-3]}}
"""
#: Fields that differ between two runs of the same numbers (times; the launcher itself).
VOLATILE = {"timing", "base_eval_seconds", "config"}
BOOM = '''
from forgetbench import Task, register_task

@register_task
class Boom(Task):
    name = "boom"
    description = "plug-in: copy, or raise when explode is set"
    options = {"explode": False}

    def make_example(self, rng):
        if self.opts["explode"]:
            raise RuntimeError("boom exploded on purpose")
        w = "".join(rng.choice("abcdefgh") for _ in range(5))
        return {"prompt": f"bm:{w}=", "answer": w, "target": w}

    def score(self, completion, example):
        return float(completion.strip() == example["answer"])
'''


@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    yield ray
    ray.shutdown()


def _results(out: Path) -> dict[str, dict]:
    return {p.parent.relative_to(out).as_posix(): json.loads(p.read_text()) for p in sorted(out.rglob("results.json"))}


def _same_numbers(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert {k: v for k, v in a[name].items() if k not in VOLATILE} == \
               {k: v for k, v in b[name].items() if k not in VOLATILE}, name


@pytest.mark.parametrize("domain", ["llm", "recsys"])
def test_ray_equals_serial_and_resumes(ray, tmp_path, domain):
    if domain == "llm":
        (tmp_path / "sw.yaml").write_text(SWEEP)
        argv = ["--config", str(tmp_path / "sw.yaml")]
    else:
        argv = ["--config", str(ROOT / "configs" / "recsys_smoke.yaml"), "--methods", "ctr", "--seeds", "0",
                "--threads", "1"]
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "serial")]) == 0
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "ray"), "--launcher", "ray"]) == 0
    serial, on_ray = _results(tmp_path / "serial"), _results(tmp_path / "ray")
    assert len(serial) == (2 if domain == "llm" else 4)      # recsys smoke: ctr at 2 lrs x 2 budgets
    _same_numbers(serial, on_ray)
    assert all(r["config"]["launcher"] == "ray" for r in on_ray.values())
    assert (tmp_path / "ray" / "report.md").is_file()
    stamps = [p.stat().st_mtime_ns for p in sorted((tmp_path / "ray").rglob("results.json"))]
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "ray"), "--launcher", "ray"]) == 0
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path / "ray").rglob("results.json"))] == stamps


def test_a_failing_run_is_named_and_the_others_finish(ray, tmp_path, capsys):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "boom.py").write_text(BOOM)
    (tmp_path / "cfg.yaml").write_text(SWEEP.replace("tasks: [sum_to]", "tasks: [boom]").replace(
        "{sft.learning_rate: [1.0e-3, 3.0e-3]}", "{task_options.boom.explode: [false, true]}"))
    rc = run_main(["--config", str(tmp_path / "cfg.yaml"), "--include_path", str(plugins),
                   "--output_dir", str(tmp_path / "out"), "--launcher", "ray"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "1 of 2 runs failed" in err and "sft/explode=True/seed0:" in err and "boom exploded on purpose" in err
    done = _results(tmp_path / "out")
    assert list(done) == ["sft/explode=False/seed0"] and done["sft/explode=False/seed0"]["complete"]
    assert "1 run from" in (tmp_path / "out" / "report.md").read_text()


def test_start_warms_one_worker_per_cpu_slot(ray):
    """Before the driver checks the config, every worker slot (cluster CPUs / ray.num_cpus) gets a task
    that imports the domain's run code, so that the first runs do not wait for torch and TRL to load."""
    import forgetbench.launch.on_ray as launch

    def imported(names):
        return all(n in sys.modules for n in names)

    for num_cpus, domain, module in [(1, "llm", "forgetbench.llm.learner"), (0.5, "recsys", "recsys_sim.learner")]:
        before = len(launch._warming)
        start(Config(launcher="ray", domain=domain, ray=RayParams(num_cpus=num_cpus)))
        cpus = ray.cluster_resources()["CPU"]
        refs = launch._warming[before:]
        assert len(refs) == int(cpus / num_cpus)
        assert ray.get(refs) == [None] * len(refs)
        check = ray.remote(imported).options(num_cpus=num_cpus)
        assert ray.get(check.remote(["forgetbench.launch.one_run", "forgetbench.loop.sequence", module]))


def test_without_ray_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)    # import ray -> ImportError
    rc = run_main(["--config", str(ROOT / "configs" / "smoke.yaml"), "--launcher", "ray",
                   "--output_dir", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "pip install -e '.[ray]'" in err[0]
    assert not list((tmp_path / "out").rglob("results.json"))


def test_threads_are_the_runs_cpus():
    cfg = Config(launcher="ray", ray=RayParams(num_cpus=2))
    resolve_threads(cfg)
    assert cfg.threads == 2 and cfg.overlap_measurement == "false"
    with pytest.raises(ForgetbenchError, match="threads 1 and ray.num_cpus 2 differ"):
        resolve_threads(Config(launcher="ray", threads=1, ray=RayParams(num_cpus=2)))


def test_longest_runs_start_first():
    """Runs go to Ray largest first (steps or interactions per stage x stages); ties keep the config's order."""
    import yaml

    from forgetbench.config.sweep import expand

    llm = yaml.safe_load(SWEEP.replace("{sft.learning_rate: [1.0e-3, 3.0e-3]}", "{max_steps: [2, 16, 4]}")
                         + "  - {method: sft, family: two_stages, grid: {max_steps: [8], tasks: [[sum_to, add]]}}")
    points = expand(Config(**{k: v for k, v in llm.items() if k != "sweep"}, sweep=llm["sweep"]).to_dict())
    assert [run_size(p) for p in points] == [2, 16, 4, 16]
    assert [p.label for p in sorted(points, key=run_size, reverse=True)] == ["steps=16", "steps=8,tasks=sum_to+add",
                                                                             "steps=4", "steps=2"]
    rec = yaml.safe_load((ROOT / "configs" / "recsys_smoke.yaml").read_text())
    sizes = sorted({run_size(p) for p in expand(rec)})
    n = rec["sweep"][0]["grid"]["recsys.interactions_per_stage"]
    assert sizes == sorted(float(x) * len(rec["tasks"]) for x in n)


def test_several_gpus_start_accelerate_for_their_run_only():
    cmd = accelerate_command(Path("/x/run.yaml"), "grpo/lr=0.0001/seed1", 1, 4)
    assert cmd[1:7] == ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "4",
                        str(ROOT / "forgetbench" / "run.py")]
    assert cmd[7:] == ["--config", "/x/run.yaml", "--launcher", "local", "--only_run", "grpo/lr=0.0001/seed1",
                       "--seeds", "1"]


def test_only_run_selects_one_run(tmp_path, capsys):
    (tmp_path / "sw.yaml").write_text(SWEEP)
    argv = ["--config", str(tmp_path / "sw.yaml"), "--output_dir", str(tmp_path / "out")]
    assert run_experiment(argv + ["--only_run", "sft/lr=0.003/seed0"]) == 0
    assert list(_results(tmp_path / "out")) == ["sft/lr=0.003/seed0"]
    assert run_main(argv + ["--only_run", "sft/lr=0.5/seed0"]) == 2
    assert "only_run 'sft/lr=0.5/seed0' is no run of this config; runs: sft/lr=0.001/seed0" in capsys.readouterr().err


def test_every_runs_stage_lines_reach_the_console_plainly(ray, tmp_path):
    """Under CI (no terminal) each run's stage lines come through once each, with the run's name and
    without colour codes or Ray's ``[repeated Nx across cluster]`` merging of similar lines."""
    import os
    import subprocess

    cfg = tmp_path / "c.yaml"
    cfg.write_text("""
experiment: rl
domain: recsys
methods: [ctr]
seeds: [0, 1, 2, 3]
tasks: [cohort_a, cohort_b]
recsys: {stages: [cohort_a, cohort_b], n_categories: 4, new_categories: 1, items_per_category: 10, dim: 8,
         users_per_cohort: 100, interactions_per_stage: 512, rounds_per_stage: 2, batch_size: 256,
         warmup_interactions: 0, random_slates: 8, max_pair_users: 50}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(CI="true", MPLBACKEND="Agg", WANDB_MODE="disabled")
    p = subprocess.run([sys.executable, "forgetbench/run.py", "--config", str(cfg), "--output_dir",
                        str(tmp_path / "out"), "--launcher", "ray"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    text = p.stdout + p.stderr
    assert "\x1b[" not in text and "repeated" not in text
    for seed in range(4):
        for k, stage in enumerate(["cohort_a", "cohort_b"], 1):
            lines = [ln for ln in text.splitlines() if f"[ctr seed{seed}] stage {k}/2 {stage}:" in ln]
            assert len(lines) == 1 and f"ctr/seed{seed}" in lines[0], (seed, stage, lines)
