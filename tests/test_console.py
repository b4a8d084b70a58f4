"""What a run prints: quiet by default (header, one line per stage, no library bars or log dicts),
everything with --verbose; the stage bar, sweep ETA and the harmless-warning filter."""
import os
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest

from forgetbench.loop import console

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_NOISE = ("Tokenizing train dataset", "Adding EOS to train dataset", "Truncating train dataset",
                 "'train_runtime'", "it/s]")


def _smoke(*extra, tmp):
    cmd = [sys.executable, "forgetbench/run.py", "--config", "configs/smoke.yaml", "--max_stages", "1",
           "--methods", "sft", "grpo", "--output_dir", str(tmp), *extra]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, CI="true"))
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout + p.stderr


@pytest.fixture(scope="module")
def quiet_and_verbose(tmp_path_factory):
    return (_smoke(tmp=tmp_path_factory.mktemp("quiet")),
            _smoke("--verbose", tmp=tmp_path_factory.mktemp("verbose")))


def test_quiet_console_is_header_runs_stage_lines_report(quiet_and_verbose):
    quiet, _ = quiet_and_verbose
    lines = [l for l in quiet.splitlines() if l and not l.startswith("[INFO] Running in WANDB")]
    assert lines[0].startswith("forgetbench: experiment=smoke domain=llm model=embedded:tiny")
    assert sum(l.startswith("[sft seed0] stage 1/1 sum_to: new-task acc") for l in lines) == 1
    assert sum(l.startswith("[grpo seed0] stage 1/1 sum_to: new-task acc") for l in lines) == 1
    assert "forgetbench: run 1/2 (sft, seed 0)" in lines and lines[-1].startswith("forgetbench: report -> ")
    assert not [n for n in LIBRARY_NOISE if n in quiet]
    assert "is_gradient_checkpointing" not in quiet       # a listed harmless warning
    assert "\r" not in quiet                              # CI: no bar redraws
    others = [l for l in lines if not l.startswith(("forgetbench:", "[sft", "[grpo", "[forgetbench]"))]
    assert others == []


def test_verbose_brings_library_output_back(quiet_and_verbose):
    _, verbose = quiet_and_verbose
    assert all(n in verbose for n in LIBRARY_NOISE)
    assert "is_gradient_checkpointing" in verbose


def test_eta_from_mean_time_per_run():
    assert console.eta(0, 5, 10.0) == ""            # nothing finished yet
    assert console.eta(2, 5, 100.0) == " ETA 2m30s"  # 50 s per run x 3 left
    assert console.eta(1, 3, 10.0) == " ETA 20s"
    assert console.eta(3, 3, 10.0) == ""


def test_bars_off_under_ci_or_without_terminal(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert not console.bars_enabled()
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys, "stdout", SimpleNamespace(isatty=lambda: False))
    assert not console.bars_enabled()
    monkeypatch.setattr(sys, "stdout", SimpleNamespace(isatty=lambda: True))
    assert console.bars_enabled()


def test_stage_progress_counts_steps_and_shows_loss(monkeypatch):
    monkeypatch.setattr(console, "bars_enabled", lambda: True)
    state = SimpleNamespace(max_steps=5, global_step=0, is_local_process_zero=True)
    cb = console.StageProgress("sft seed 0 stage 1 (sum_to)")
    cb.on_train_begin(None, state, None)
    bar = cb.bar
    for step in (1, 2, 3):
        state.global_step = step
        cb.on_step_end(None, state, None)
    cb.on_log(None, state, None, logs={"loss": 0.41234, "grad_norm": 3.0})
    assert bar.n == 3 and bar.total == 5 and bar.desc.startswith("sft seed 0 stage 1")
    assert bar.postfix == "loss=0.412"
    cb.on_log(None, state, None, logs={"reward": 0.5})
    assert bar.postfix == "reward=0.5"
    cb.on_train_end(None, state, None)
    assert cb.bar is None


def test_harmless_warning_filter_is_by_message():
    assert console.filtered("`is_gradient_checkpointing` is deprecated and will be removed in v6.")
    assert not console.filtered("something new went wrong")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        console.configure(False)
        warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning)
        warnings.warn("an unknown library warning", UserWarning)
    assert [str(w.message) for w in seen] == ["an unknown library warning"]
