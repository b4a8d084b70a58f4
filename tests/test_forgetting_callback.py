"""``forgetbench.ForgettingCallback`` inside TRL's SFTTrainer and GRPOTrainer on the tiny base: it logs at
exactly step 0, every ``every_n_steps`` and the last step; its last values equal ``forgetbench measure``
on the saved final checkpoint; training is the same with and without it; two processes; bad names."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forgetbench import ForgetbenchError, ForgettingCallback, load_model
from forgetbench.llm.measure import main as measure_main
from forgetbench.plugins.registry import get_task

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["forgetting/copy", "forgetting/sum_to", "forgetting/old_task_decline", "forgetting/old_prompt_forward_kl"]
TASKS = ["copy", "sum_to"]  # sum_to is trained (its prompts' KL moves: a KL far from 0 to compare)


def sft_rows(n: int):
    """``sum_to``'s training rows as prompt-completion pairs."""
    return get_task("sum_to").load("train").select(range(n)).rename_column("target", "completion") \
        .select_columns(["prompt", "completion"])


def train_sft(tmp_path, callback, steps=5, lr=3e-4):
    from trl import SFTConfig, SFTTrainer

    model, tok = load_model("embedded:tiny")
    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=steps, per_device_train_batch_size=8,
                     learning_rate=lr, report_to="none", use_cpu=True, logging_steps=1, save_strategy="no",
                     seed=0, disable_tqdm=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=sft_rows(8 * steps), processing_class=tok,
                         callbacks=[callback] if callback else [])
    trainer.train()
    return trainer


def rows_of(trainer) -> list[dict]:
    return [h for h in trainer.state.log_history if "forgetting/copy" in h]


def losses(trainer) -> list[float]:
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


def test_an_unknown_task_fails_at_construction_naming_it():
    with pytest.raises(ForgetbenchError, match=r"unknown task 'ad'; did you mean add"):
        ForgettingCallback(tasks=["copy", "ad"])
    with pytest.raises(ForgetbenchError, match="every_n_steps must be an integer >= 1, got 0"):
        ForgettingCallback(tasks=["copy"], every_n_steps=0)


@pytest.fixture(scope="module")
def sft_pair(tmp_path_factory):
    """SFT for 5 steps with the callback every 2 steps, the final model saved; and the same without it."""
    tmp = tmp_path_factory.mktemp("sft")
    cb = ForgettingCallback(tasks=TASKS, every_n_steps=2, eval_limit=40, kl_prompts=16)
    with_cb = train_sft(tmp, cb)
    with_cb.save_model(str(tmp / "final"))
    return cb, with_cb, train_sft(tmp, None), tmp / "final"


def test_sft_logs_at_exactly_the_configured_steps_through_the_trainer(sft_pair):
    cb, trainer, _, _ = sft_pair
    rows = rows_of(trainer)
    assert [h["step"] for h in rows] == [0, 2, 4, 5]          # start, every 2, the last step
    assert [h["step"] for h in cb.history] == [0, 2, 4, 5]
    for h, mine in zip(rows, cb.history):
        assert {k: h[k] for k in KEYS} == {k: mine[k] for k in KEYS}
    start = rows[0]
    assert start["forgetting/old_task_decline"] == 0.0 and start["forgetting/old_prompt_forward_kl"] == 0.0
    last = rows[-1]   # decline = mean over tasks of (start accuracy - now)
    assert last["forgetting/old_task_decline"] == pytest.approx(
        ((start["forgetting/copy"] - last["forgetting/copy"]) + (start["forgetting/sum_to"] - last["forgetting/sum_to"])) / 2)
    assert last["forgetting/old_prompt_forward_kl"] > 0.1   # 5 steps on sum_to move its outputs
    assert cb.seconds > 0


def test_training_is_the_same_with_and_without_the_callback(sft_pair):
    _, with_cb, without, _ = sft_pair
    assert len(losses(with_cb)) == 5 and losses(with_cb) == losses(without)
    a, b = dict(with_cb.model.named_parameters()), dict(without.model.named_parameters())
    assert all((a[n] == b[n]).all() for n in a)


def test_the_last_values_equal_forgetbench_measure_on_the_saved_checkpoint(sft_pair, tmp_path):
    cb, _, _, final = sft_pair
    out = tmp_path / "m.json"
    assert measure_main(["--base", "embedded:tiny", "--model", str(final), "--tasks", *TASKS,
                         "--eval_limit", "40", "--kl_prompts", "16", "--kl_samples", "1", "--out", str(out)]) == 0
    m, last = json.loads(out.read_text()), cb.history[-1]
    assert last["forgetting/copy"] == m["accuracy"]["model"]["copy"]
    assert last["forgetting/sum_to"] == m["accuracy"]["model"]["sum_to"]
    assert last["forgetting/old_task_decline"] == pytest.approx(m["old_task_decline"], abs=1e-12)
    assert last["forgetting/old_prompt_forward_kl"] == pytest.approx(m["kl"]["old_task_forward_kl"], rel=1e-5)


def test_grpo_logs_at_the_configured_steps_and_trains_the_same(tmp_path):
    from forgetbench.llm.methods.grpo import GRPOParams, build_grpo_trainer

    task = get_task("sum_to")
    rows = task.load("train").select(range(12))

    def run(callbacks, name):
        model, tok = load_model("embedded:tiny")
        trainer = build_grpo_trainer(model, tok, task, rows, GRPOParams(learning_rate=1e-3, num_generations=4),
                                     steps=3, prompts_per_step=4, seed=0, output_dir=str(tmp_path / name),
                                     callbacks=callbacks, logging_steps=1)
        trainer.train()
        return trainer

    cb = ForgettingCallback(tasks=["copy", "add"], every_n_steps=2, eval_limit=20, kl_prompts=8)
    with_cb, without = run([cb], "with"), run([], "without")
    assert [h["step"] for h in rows_of(with_cb)] == [0, 2, 3]
    assert losses(with_cb) == losses(without) and len(losses(without)) == 3
    rewards = lambda t: [h["reward"] for h in t.state.log_history if "reward" in h]  # noqa: E731
    assert rewards(with_cb) == rewards(without)


TWO_PROCESS_SCRIPT = '''
import json, sys
from accelerate import PartialState
from trl import SFTConfig, SFTTrainer
from forgetbench import ForgettingCallback, load_model
from forgetbench.plugins.registry import get_task
out = sys.argv[1]
model, tok = load_model("embedded:tiny")
rows = get_task("sum_to").load("train").select(range(32)).rename_column("target", "completion")
cb = ForgettingCallback(tasks=["copy", "sum_to"], every_n_steps=2, eval_limit=40, kl_prompts=16)
args = SFTConfig(output_dir=out + "/trainer", max_steps=3, per_device_train_batch_size=4, learning_rate=3e-4,
                 report_to="none", use_cpu=True, save_strategy="no", seed=0, disable_tqdm=True)
trainer = SFTTrainer(model=model, args=args, train_dataset=rows.select_columns(["prompt", "completion"]),
                     processing_class=tok, callbacks=[cb])
trainer.train()
state = PartialState()
json.dump(cb.history, open(f"{out}/history{state.process_index}.json", "w"))
if state.is_main_process:
    trainer.save_model(out + "/final")
print(f"world_size={state.num_processes}")
'''


def test_two_processes_measure_on_the_main_one_and_broadcast(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(script), str(tmp_path)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "world_size=2" in p.stdout
    h0, h1 = (json.loads((tmp_path / f"history{r}.json").read_text()) for r in (0, 1))
    assert h0 == h1 and [h["step"] for h in h0] == [0, 2, 3]
    out = tmp_path / "m.json"   # the main process's numbers alone: those of one process measuring the checkpoint
    assert measure_main(["--base", "embedded:tiny", "--model", str(tmp_path / "final"), "--tasks", "copy", "sum_to",
                         "--eval_limit", "40", "--kl_prompts", "16", "--kl_samples", "1", "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    assert h0[-1]["forgetting/copy"] == m["accuracy"]["model"]["copy"]
    assert h0[-1]["forgetting/old_prompt_forward_kl"] == pytest.approx(m["kl"]["old_task_forward_kl"], rel=1e-5)
