"""Measurement overlapped with training (a forked process) gives the inline numbers, keeps what is
finished when something fails, and a stage left measured-but-unrecorded resumes without retraining."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from forgetbench.errors import ForgetbenchError
from forgetbench.launch.experiment import run_experiment
from forgetbench.loop.stage_measurer import ForkedMeasurer, InlineMeasurer, open_measurer

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["--config", str(ROOT / "configs" / "smoke.yaml")]
MEASURED = ["stages", "tasks", "accuracy", "drift", "kl", "extras", "train_stats", "metrics"]


def results(out, method="sft"):
    return json.loads((Path(out) / method / "seed0" / "results.json").read_text())


@pytest.fixture
def one_thread():
    """The parent at one torch thread, as ``accelerate launch`` starts it on a CPU machine (the forked
    measurer always uses one): then both ways compute bit-identical numbers."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_overlapped_equals_inline(tmp_path, one_thread):
    for mode in ("false", "true"):
        argv = SMOKE + ["--methods", "sft", "grpo", "--output_dir", str(tmp_path / mode),
                        "--overlap_measurement", mode]
        assert run_experiment(argv) == 0
    for method in ("sft", "grpo"):
        inline, overlapped = results(tmp_path / "false", method), results(tmp_path / "true", method)
        assert inline["complete"] and overlapped["complete"]
        for key in MEASURED:
            assert overlapped[key] == inline[key], (method, key)
        ckpts = tmp_path / "true" / method / "seed0" / "checkpoints"
        assert sorted(p.name for p in ckpts.iterdir()) == ["stage2"]


class FakeLearner:
    """Duck-typed learner: one weight; ``load`` reads it from ``w.txt``; evaluate reports it."""

    def __init__(self, fail_on=None):
        self.w, self.fail_on = torch.zeros(2), fail_on

    def parameters(self):
        return {"w": self.w}

    def base_parameters(self):
        return {"w": torch.zeros(2)}

    def load(self, path):
        self.w = torch.full((2,), float((Path(path) / "w.txt").read_text()))

    def evaluate(self):
        if self.fail_on is not None and float(self.w[0]) == self.fail_on:
            raise ForgetbenchError("task 'fake': score() raised ZeroDivisionError")
        if float(self.w[0]) == -1:
            os._exit(3)  # the process dies without a word
        return {"fake": float(self.w[0]) / 10}

    def divergences(self, task, old):
        return {"new_task_forward_kl": float(self.w.sum())}

    def extras(self, task):
        return {"pid": os.getpid()}


def stage(tmp_path, k, w):
    path = tmp_path / f"stage{k}"
    path.mkdir(exist_ok=True)
    (path / "w.txt").write_text(str(w))
    return {"kind": "stage", "k": k, "task": "fake", "old": [], "checkpoint": str(path)}


def test_forked_measurer_measures_checkpoints_in_order_in_another_process(tmp_path):
    m = ForkedMeasurer(FakeLearner())
    try:
        m.submit({"kind": "base"})
        m.submit(stage(tmp_path, 1, 3.0))
        m.submit(stage(tmp_path, 2, 4.0))
        base, s1, s2 = m.collect()
    finally:
        m.close()
    assert base["accuracy"] == {"fake": 0.0}
    assert s1["accuracy"] == {"fake": 0.3} and s2["accuracy"] == {"fake": 0.4}
    assert s1["kl"] == {"new_task_forward_kl": 6.0} and s1["extras"]["pid"] != os.getpid()
    # drift: stage 1 against the base (0); stage 2 against stage 1 (3 -> 4 per entry): ||1,1|| / ||3,3||
    assert s1["drift"]["l2"] == pytest.approx(3 * 2 ** 0.5)
    assert s2["drift"]["relative_l2_prev"] == pytest.approx(1 / 3)


def test_inline_measurer_gives_the_same_rows(tmp_path):
    learner, m = FakeLearner(), None
    m = InlineMeasurer(learner)
    learner.w = torch.full((2,), 3.0)
    m.submit({"kind": "stage", "k": 1, "task": "fake", "old": []})
    (s1,) = m.collect()
    assert s1["accuracy"] == {"fake": 0.3} and s1["drift"]["l2"] == pytest.approx(3 * 2 ** 0.5)
    assert m.collect() == []


def test_a_measurement_error_reaches_the_parent_as_itself(tmp_path):
    m = ForkedMeasurer(FakeLearner(fail_on=5.0))
    try:
        m.submit(stage(tmp_path, 1, 5.0))
        with pytest.raises(ForgetbenchError, match=r"task 'fake': score\(\) raised ZeroDivisionError"):
            m.collect()
    finally:
        m.close()


def test_a_dead_measurement_process_is_named(tmp_path):
    m = ForkedMeasurer(FakeLearner())
    try:
        m.submit(stage(tmp_path, 1, -1.0))
        with pytest.raises(ForgetbenchError, match=r"measurement process ended unexpectedly \(exit code 3\)"):
            m.collect()
    finally:
        m.close()


@pytest.mark.parametrize("threads, cores, expected", [(1, 2, ForkedMeasurer), (2, 2, InlineMeasurer),
                                                      (1, 1, InlineMeasurer)])
def test_auto_overlaps_only_with_one_thread_and_a_free_core(monkeypatch, threads, cores, expected):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    m = open_measurer(FakeLearner(), "auto", "llm")
    m.close()
    assert type(m) is expected
    assert type(open_measurer(FakeLearner(), "auto", "recsys")) is InlineMeasurer


def test_a_stage_checkpointed_but_not_recorded_is_measured_not_retrained(tmp_path, monkeypatch):
    full, part = tmp_path / "full", tmp_path / "part"
    argv = SMOKE + ["--methods", "sft", "--overlap_measurement", "false"]
    assert run_experiment(argv + ["--output_dir", str(full), "--keep_checkpoints"]) == 0
    assert run_experiment(argv + ["--output_dir", str(part), "--max_stages", "1"]) == 0
    # as if stopped after stage 2's checkpoint was written, before its row (overlapped measurement)
    shutil.copytree(full / "sft" / "seed0" / "checkpoints" / "stage2", part / "sft" / "seed0" / "checkpoints" / "stage2")
    from forgetbench.llm.learner import LLMLearner

    def no_training(self, task, stage):
        raise AssertionError(f"stage {stage} was trained again")

    monkeypatch.setattr(LLMLearner, "train_stage", no_training)
    assert run_experiment(argv + ["--output_dir", str(part)]) == 0
    resumed, reference = results(part), results(full)
    assert resumed["complete"]
    for key in MEASURED:
        assert resumed[key] == reference[key], key


def test_killed_overlapped_run_leaves_no_process_and_resumes(tmp_path):
    """``accelerate launch``'s one thread: overlap on (auto). SIGKILL once stage 1 is recorded; the
    measurement process goes with its parent; the same command finishes the run."""
    cmd = [sys.executable, str(ROOT / "forgetbench" / "run.py"), *SMOKE, "--output_dir", str(tmp_path),
           "--methods", "sft"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = tmp_path / "sft" / "seed0" / "results.json"
    deadline = time.time() + 600
    while not (path.exists() and len(json.loads(path.read_text())["stages"]) >= 2):
        assert proc.poll() is None and time.time() < deadline, "the run ended before stage 1 was stored"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.time() + 30
    while subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True).returncode == 0:
        assert time.time() < deadline, "the measurement process outlived its parent"
        time.sleep(0.1)
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    r = results(tmp_path)
    assert r["complete"] and r["stages"] == ["base", "sum_to", "even_between"]
