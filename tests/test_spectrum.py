"""The on-policy spectrum's methods (rloo, dpo, online_dpo, kd, opd, sdft): one micro stage each end to
end with the results contract, and numeric checks of what each trains on."""
import json
from pathlib import Path

import pytest
from datasets import Dataset

from forgetbench.config.schema import load_config
from forgetbench.launch.experiment import run_experiment
from forgetbench.plugins.task import Task

ROOT = Path(__file__).resolve().parent.parent
#: On the micro base: rloo has zero reward spread there (asserted below).
MICRO = ["--model_name_or_path", "embedded:micro"]
SMOKE = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--max_stages", "1", *MICRO]
METHODS = ["rloo", "dpo", "online_dpo", "kd", "opd", "sdft"]
CONTRACT = ["experiment", "domain", "method", "seed", "config", "stages", "tasks", "accuracy", "metrics",
            "drift", "kl", "timing", "per_example"]


def results(out, method, seed=0):
    return json.loads((Path(out) / method / f"seed{seed}" / "results.json").read_text())


@pytest.fixture(scope="module")
def spectrum_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("spectrum")
    assert run_experiment(SMOKE + ["--output_dir", str(out), "--methods", *METHODS]) == 0
    return out


@pytest.mark.parametrize("method", METHODS)
def test_one_micro_stage_gives_the_results_contract(spectrum_run, method):
    r = results(spectrum_run, method)
    assert all(k in r for k in CONTRACT) and r["method"] == method and r["complete"]
    assert r["stages"] == ["base", "sum_to"] and r["tasks"] == ["sum_to", "even_between", "copy", "add"]
    R, m = r["accuracy"], r["metrics"]
    assert m["new_task_gain"] == pytest.approx([R[1][0] - R[0][0]])
    # old = the prior skills only (even_between is planned for stage 2, max_stages cut it)
    assert m["old_task_decline"][0] == pytest.approx(((R[0][2] - R[1][2]) + (R[0][3] - R[1][3])) / 2)
    assert r["drift"][0]["relative_l2"] >= 0 and r["kl"][0]["new_task_forward_kl"] >= 0
    assert r["train_stats"][0]["prompts"] == 4 * 8  # max_steps x prompts_per_step, as for sft / grpo / rft


def test_methods_that_trained_moved_the_weights(spectrum_run):
    for method in ("dpo", "online_dpo", "kd", "opd", "sdft"):  # rloo on micro: zero reward spread (see below)
        assert results(spectrum_run, method)["drift"][0]["relative_l2"] > 0, method
    rloo = results(spectrum_run, "rloo")["train_stats"][0]
    assert rloo["frac_reward_zero_std"] == 1.0 and rloo["nothing_to_learn"]
    assert results(spectrum_run, "rloo")["drift"][0]["relative_l2"] == 0.0


def test_expert_teacher_is_kept_in_the_run_directory_with_its_accuracy(spectrum_run):
    from forgetbench.llm.eval.evaluate import evaluate_tasks
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    for method in ("kd", "opd"):
        info = results(spectrum_run, method)["train_stats"][0]["teacher"]
        where = spectrum_run / method / "seed0" / "teachers" / "stage1"
        assert info["teacher"] == "expert" and Path(info["path"]) == where and not info["reused"]
        assert info["max_steps"] == 4 and info["learning_rate"] == 3e-4
        model, tok = load_model_and_tokenizer(str(where))
        task = get_task("sum_to")
        acc = evaluate_tasks(model, tok, {"sum_to": (task, list(task.load("eval")))})["sum_to"]["greedy"]
        assert info["new_task_accuracy"] == acc


# --- what each method trains on --------------------------------------------------------------------------

class DigitShare(Task):
    """A crafted task: score = share of digits in the completion (0 when empty): graded, known rewards."""
    name = "digit_share_test"
    max_new_tokens = 4

    def make_example(self, rng):
        a = str(rng.randint(10, 99))
        return {"prompt": f"cp:{a}=", "answer": a, "target": a}

    def score(self, completion, example):
        c = completion.strip()
        return sum(ch.isdigit() for ch in c) / len(c) if c else 0.0


class Recorded(DigitShare):
    def __init__(self):
        super().__init__()
        self.seen = []

    def score(self, completion, example):
        s = super().score(completion, example)
        self.seen.append((completion, s))
        return s


def crafted_rows(n=8):
    import random

    rng = random.Random(0)
    return Dataset.from_list([DigitShare().make_example(rng) for _ in range(n)])


def test_rloo_rewards_are_the_tasks_scores(micro_base_path, tmp_path):
    from forgetbench.llm.methods.rloo import RLOOParams
    from forgetbench.llm.methods.rloo import train_rloo
    from forgetbench.llm.base_model.load import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(micro_base_path)
    task = Recorded()
    log = train_rloo(model, tok, task, crafted_rows(), RLOOParams(num_generations=4, learning_rate=1e-3), steps=1,
                     prompts_per_step=2, seed=0, output_dir=str(tmp_path), logging_steps=1)
    scores = [s for _, s in task.seen]
    assert len(scores) == 2 * 4  # prompts_per_step x num_generations completions, each scored once
    logged = next(h for h in log if "reward" in h)
    assert logged["reward"] == pytest.approx(sum(scores) / len(scores), abs=1e-6)
    assert logged["rewards/digit_share_test_reward/mean"] == pytest.approx(sum(scores) / len(scores), abs=1e-6)


def test_online_dpo_ranks_the_models_own_samples_by_the_tasks_score(micro_base_path, tmp_path):
    from forgetbench.llm.methods.online_dpo import OnlineDPOParams
    from forgetbench.llm.methods.online_dpo import build_online_dpo_trainer

    from forgetbench.llm.base_model.load import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(micro_base_path)
    task = DigitShare()
    trainer, reward = build_online_dpo_trainer(model, tok, task, crafted_rows(), OnlineDPOParams(), steps=2,
                                               prompts_per_step=4, seed=0, output_dir=str(tmp_path), logging_steps=1)
    trainer.train()
    assert len(reward.calls) == 2  # one per step: 4 prompts x 2 samples
    margins = []
    for completions, rewards in reward.calls:
        assert len(completions) == 8 and rewards == [task.score(c, {}) for c in completions]
        margins.append(sum(abs(a - b) for a, b in zip(rewards[:4], rewards[4:])) / 4)  # chosen = the higher one
    logged = [h["objective/scores_margin"] for h in trainer.state.log_history if "objective/scores_margin" in h]
    assert logged == pytest.approx(margins, abs=1e-6)
    ties = sum(a == b for _, r in reward.calls for a, b in zip(r[:4], r[4:]))
    assert reward.tie_frac() == ties / 8


def test_dpo_pairs_chosen_correct_rejected_incorrect(monkeypatch):
    import forgetbench.llm.methods.dpo as dpo
    import forgetbench.llm.own_samples as own_samples

    rows = [{"prompt": f"p{i}", "answer": "", "target": "12"} for i in range(3)]
    samples = ["12", "1x", "55", "77", "ab", "9"]  # row 0: one wrong; row 1: both right; row 2: both wrong
    monkeypatch.setattr(own_samples, "generate_completions", lambda *a, **k: samples)
    pairs = dpo.preference_pairs(None, None, DigitShare(), rows, k=2, seed=0)
    assert pairs == [{"prompt": "p0", "chosen": "12", "rejected": "1x"}, {"prompt": "p2", "chosen": "12", "rejected": "ab"}]


def test_dpo_pairs_of_the_micro_model_on_sum_to(micro_base_path):
    from forgetbench.llm.methods.dpo import preference_pairs
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    model, tok = load_model_and_tokenizer(micro_base_path)
    task = get_task("sum_to")
    rows = list(task.load("train"))[:16]
    pairs = preference_pairs(model, tok, task, rows, k=2, seed=0)
    assert pairs and len(pairs) <= len(rows)
    by_prompt = {r["prompt"]: r for r in rows}
    for p in pairs:
        ex = by_prompt[p["prompt"]]
        assert p["chosen"] == ex["target"] and task.score(p["chosen"], ex) == 1.0
        assert task.score(p["rejected"], ex) < 1.0


def test_dpo_stage_records_its_pairs(spectrum_run):
    s = results(spectrum_run, "dpo")["train_stats"][0]
    assert s["dpo_pair_frac"] == s["dpo_pairs"] / 32 and s["final_loss"] > 0


def test_two_processes(tmp_path):
    """Every spectrum method in the 2-process run (gloo on CPU): one stage, the contract, world size 2."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           str(ROOT / "forgetbench" / "run.py"), *SMOKE, "--output_dir", str(tmp_path), "--max_steps", "2",
           "--methods", *METHODS]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    for method in METHODS:
        r = results(tmp_path, method)
        assert r["world_size"] == 2 and r["complete"] and len(r["accuracy"]) == 2, method
        assert r["train_stats"][0]["prompts"] == 16
    assert (tmp_path / "kd" / "seed0" / "teachers" / "stage1" / "teacher.json").is_file()


def test_new_sections_at_their_defaults_keep_old_fingerprints():
    """Runs stored before the spectrum's config sections existed still resume (same fingerprint)."""
    from forgetbench.loop.sequence import fingerprint

    cfg = load_config(["--config", str(ROOT / "configs" / "default.yaml")]).to_dict()
    old = {k: v for k, v in cfg.items() if k not in ("rloo", "dpo", "online_dpo", "kd", "opd", "expert", "sdft")}
    assert fingerprint(cfg) == fingerprint(old)
    changed = load_config(["--config", str(ROOT / "configs" / "default.yaml"), "--kd.learning_rate", "1e-3"]).to_dict()
    assert fingerprint(changed) != fingerprint(old)
    # eval.lm_eval (nested) likewise: absent == at its defaults; set == a different run
    older = dict(old, eval={k: v for k, v in cfg["eval"].items() if k != "lm_eval"})
    assert fingerprint(cfg) == fingerprint(older) and "lm_eval" in cfg["eval"]
    lm = load_config(["--config", str(ROOT / "configs" / "default.yaml"), "--eval.lm_eval.tasks",
                      "forgetbench_prior_mc"]).to_dict()
    assert fingerprint(lm) != fingerprint(older)
    assert "lm_eval" in lm["eval"]                         # fingerprint() did not edit the config
