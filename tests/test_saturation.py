"""Saturation on crafted evaluation traces, and the stage probe inside a real SFTTrainer stage."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from datasets import Dataset  # noqa: E402

from forgetbench.measures.saturation import (past_saturation_summary, signal_past, steps_past_saturation,  # noqa: E402
                                             steps_to_saturation)


def test_steps_to_saturation_on_crafted_traces():
    trace = [(0, 0.30), (4, 0.80), (8, 0.96), (12, 0.90), (16, 1.0)]
    assert steps_to_saturation(trace) == 8                     # the first crossing, not the last
    assert steps_to_saturation(trace, threshold=0.99) == 16
    assert steps_to_saturation(list(reversed(trace))) == 8     # order of the trace does not matter
    assert steps_to_saturation([(0, 0.95), (4, 0.2)]) == 0     # saturated before training
    assert steps_to_saturation([(0, 0.1), (4, 0.94)]) is None
    assert steps_past_saturation(8, 60) == 52 and steps_past_saturation(60, 60) == 0
    assert steps_past_saturation(None, 60) is None


def test_signal_past_saturation_means_only_later_log_entries():
    log = [{"step": 10, "loss": 1.0, "frac_reward_zero_std": 0.5}, {"step": 20, "loss": 0.4},
           {"step": 30, "loss": 0.2, "frac_reward_zero_std": 0.9}, {"step": 30, "train_loss": 0.5}]
    assert signal_past(log, "loss", 10) == pytest.approx(0.3)
    assert signal_past(log, "frac_reward_zero_std", 10) == pytest.approx(0.9)
    assert signal_past(log, "loss", 30) is None and signal_past(log, "loss", None) is None
    s = past_saturation_summary([[0, 0.5, 2.0], [10, 0.97, 1.0], [30, 1.0, 0.4]], log, max_steps=30)
    assert (s["steps_to_saturation"], s["steps_past_saturation"]) == (10, 20)
    assert s["loss_past_saturation"] == pytest.approx(0.3)
    assert s["entropy_past_saturation"] == pytest.approx(0.4)
    assert s["zero_spread_past_saturation"] == pytest.approx(0.9)


def _micro():
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path

    return load_model_and_tokenizer(resolve_model_path("embedded:micro"))


def _sft(model, tok, rows, lr, callbacks):
    from forgetbench.llm.methods.sft import train_sft

    with tempfile.TemporaryDirectory() as tmp:
        return train_sft(model, tok, rows, steps=4, batch_size=8, learning_rate=lr, seed=0, output_dir=tmp,
                         callbacks=callbacks, logging_steps=1)


def test_probe_traces_every_k_steps_measures_each_step_and_leaves_training_alone():
    from forgetbench.llm.stage_probe import StageProbe, normed_matrices, prompt_entropy
    from forgetbench.plugins.registry import discover, get_task

    discover()
    task = get_task("copy")
    rows = Dataset.from_list([{"prompt": r["prompt"], "completion": r["target"]} for r in task.load("train")][:64])
    eval_rows = list(task.load("eval"))
    model, tok = _micro()
    probe = StageProbe(task, eval_rows, tok, every=2, n_prompts=8)
    _sft(model, tok, rows, 3e-3, [probe])
    assert [t[0] for t in probe.trace] == [0, 2, 4]            # start, every 2 steps, end (not twice)
    assert probe.step_size()["optimizer_steps"] == 4 and probe.step_size()["angular_step_deg"] > 0
    assert all(0.0 <= t[1] <= 1.0 for t in probe.trace)
    assert probe.trace[-1][2] == pytest.approx(prompt_entropy(model, tok, [r["prompt"] for r in eval_rows[:8]]), abs=1e-5)
    assert [e["step"] for e in probe.log if "loss" in e] == [1, 2, 3, 4]
    assert set(normed_matrices(model)) and all("proj" in n for n in normed_matrices(model))
    # the same stage without the probe ends in the same weights
    bare, _ = _micro()
    _sft(bare, tok, rows, 3e-3, [])
    assert all(torch.equal(a, b) for a, b in zip(bare.state_dict().values(), model.state_dict().values()))
    # a zero learning rate is a zero step
    still, _ = _micro()
    probe0 = StageProbe(task, eval_rows, tok, every=4, n_prompts=4)
    _sft(still, tok, rows, 0.0, [probe0])
    assert probe0.steps == [0.0] * 4
