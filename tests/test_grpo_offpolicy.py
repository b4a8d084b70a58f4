"""``grpo_offpolicy`` and the staleness dial ``grpo.refresh_every``: with the behaviour policy equal to the
learner the first step's importance ratio is 1 and the gradient is GRPO's; a frozen behaviour policy's
samples do not move as the learner does; a behaviour policy refreshed every step is GRPO; ``refresh_every:
1`` runs GRPO's own trainer and keeps the fingerprints."""
import copy
import json
from pathlib import Path

import pytest
import torch
from transformers import TrainerCallback

from forgetbench.config.fingerprint import fingerprint
from forgetbench.config.schema import config_class, load_config
from forgetbench.errors import ForgetbenchError

ROOT = Path(__file__).resolve().parent.parent


class Grads(TrainerCallback):
    """Each optimizer step's gradients, before the step."""

    def __init__(self):
        self.steps = []

    def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
        self.steps.append({n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None})


@pytest.fixture(scope="module")
def world(micro_base_path):
    from datasets import Dataset

    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    model, tok = load_model_and_tokenizer(micro_base_path)
    task = get_task("multiple")  # the micro base gets some right: groups with spread
    return model, tok, task, Dataset.from_list(list(task.load("train"))[:32])


def trained(world, tmp_path, *, behaviour=None, refresh_every=None, lr=1e-4, steps=3):
    """(completion ids per step, gradients per step, trainer, final model) of a GRPO trainer on a copy of
    the micro base; ``behaviour``: None = TRL's GRPOTrainer, ``"start"`` = a frozen copy of the start."""
    from forgetbench.llm.behaviour_grpo import BehaviourGRPOTrainer
    from forgetbench.llm.methods.grpo import GRPOParams, build_grpo_trainer

    model0, tok, task, rows = world
    model = copy.deepcopy(model0)
    grads = Grads()
    cls = None if behaviour is None else lambda **kw: BehaviourGRPOTrainer(
        behaviour=copy.deepcopy(model), refresh_every=refresh_every, **kw)
    trainer = build_grpo_trainer(model, tok, task, rows, GRPOParams(learning_rate=lr, num_generations=4),
                                 trainer_cls=cls, steps=steps, prompts_per_step=2, seed=0,
                                 output_dir=str(tmp_path / "o"), callbacks=[grads])
    seen, generate = [], trainer._generate_and_score_completions

    def spy(inputs):
        out = generate(inputs)
        seen.append(out["completion_ids"].clone())
        return out

    trainer._generate_and_score_completions = spy
    trainer.train()
    return seen, grads.steps, trainer, model


def test_first_step_ratio_is_one_and_the_gradient_is_grpos(world, tmp_path):
    s_on, g_on, _, _ = trained(world, tmp_path / "on", steps=1)
    s_off, g_off, t_off, _ = trained(world, tmp_path / "off", behaviour="start", steps=1)
    assert torch.equal(s_on[0], s_off[0])                      # the same samples (same weights, same RNG)
    assert t_off.ratio_means == [1.0] and t_off.clipped_shares == [0.0]
    assert g_on[0].keys() == g_off[0].keys() and any(g.abs().sum() > 0 for g in g_on[0].values())
    for name, g in g_on[0].items():
        torch.testing.assert_close(g_off[0][name], g, rtol=0, atol=1e-7, msg=name)


def test_frozen_behaviour_samples_do_not_move_with_the_learner(world, tmp_path):
    slow, _, t_slow, m_slow = trained(world, tmp_path / "slow", behaviour="start", lr=1e-4)
    fast, _, t_fast, m_fast = trained(world, tmp_path / "fast", behaviour="start", lr=3e-2)
    assert len(slow) == len(fast) == 3
    assert all(torch.equal(a, b) for a, b in zip(slow, fast))   # π_b's samples: not the learner's
    assert not torch.equal(next(m_slow.parameters()), next(m_fast.parameters()))
    assert t_fast.ratio_means[0] == 1.0 and abs(t_fast.ratio_means[2] - 1.0) > 1e-3   # the learner moved off π_b
    # on-policy GRPO at the same two rates: its samples follow the learner (so the check above can fail)
    on_slow, *_ = trained(world, tmp_path / "on_slow", lr=1e-4)
    on_fast, *_ = trained(world, tmp_path / "on_fast", lr=3e-2)
    assert torch.equal(on_slow[0], on_fast[0]) and not all(torch.equal(a, b) for a, b in zip(on_slow, on_fast))


def test_a_behaviour_policy_refreshed_every_step_is_grpo(world, tmp_path):
    s_on, g_on, _, m_on = trained(world, tmp_path / "on")
    s_b, g_b, t_b, m_b = trained(world, tmp_path / "b", behaviour="start", refresh_every=1)
    assert all(torch.equal(a, b) for a, b in zip(s_on, s_b))
    assert t_b.ratio_means == [1.0, 1.0, 1.0]
    for (n, p), q in zip(m_on.named_parameters(), m_b.parameters()):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-6, msg=n)


def test_the_behaviour_copy_of_a_patched_learner_runs_its_own_weights(world):
    """A learner an earlier stage's trainer patched (TRL's fused LM head, a closure over its forward): the
    behaviour copy must not call back into the learner's weights when it generates."""
    from trl.trainer.utils import add_fused_lm_head

    from forgetbench.llm.behaviour_grpo import unpatched_copy

    learner = copy.deepcopy(world[0])
    add_fused_lm_head(learner)
    frozen = unpatched_copy(learner)
    ids = torch.tensor([[1, 5, 6, 7]])
    before = frozen(input_ids=ids).logits
    with torch.no_grad():
        for p in learner.parameters():
            p.mul_(0.5)
    torch.testing.assert_close(frozen(input_ids=ids).logits, before, rtol=0, atol=0)
    assert not torch.allclose(learner(input_ids=ids).logits, before)


def test_end_to_end_the_dial_at_one_is_grpo_and_grpo_offpolicy_records_its_ratios(tmp_path):
    from forgetbench.launch.experiment import run_experiment

    args = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--max_steps", "2", "--overlap_measurement", "false"]
    assert run_experiment(args + ["--methods", "grpo", "grpo_offpolicy", "--output_dir", str(tmp_path / "a")]) == 0
    assert run_experiment(args + ["--methods", "grpo", "--grpo.refresh_every", "1", "--output_dir",
                                  str(tmp_path / "b")]) == 0
    a, b, off = (json.loads((tmp_path / d / m / "seed0" / "results.json").read_text())
                 for d, m in (("a", "grpo"), ("b", "grpo"), ("a", "grpo_offpolicy")))
    assert a["fingerprint"] == b["fingerprint"]
    for key in ("accuracy", "metrics", "drift", "kl", "per_example"):
        assert a[key] == b[key], key
    assert "importance_ratio_mean" not in a["train_stats"][0]
    assert len(off["train_stats"]) == 2 and off["accuracy"] != a["accuracy"]
    for s in off["train_stats"]:
        assert s["importance_ratio_mean"] > 0 and 0 <= s["clipped_share"] <= 1


def test_refresh_every_one_is_grpo_and_keeps_its_fingerprint():
    cfg = config_class()().to_dict()
    assert cfg["grpo"]["refresh_every"] == 1 and cfg["grpo_offpolicy"]["refresh_every"] is None
    old = {**cfg, "grpo": {k: v for k, v in cfg["grpo"].items() if k != "refresh_every"}}
    old.pop("grpo_offpolicy")
    assert fingerprint(cfg) == fingerprint(old)               # absent == 1; the new section at defaults
    assert fingerprint({**cfg, "grpo": {**cfg["grpo"], "refresh_every": 4}}) != fingerprint(cfg)
    stored = json.loads((ROOT / "results/reference/razor/grpo_kl/base=embedded:tiny-r2,steps=8,beta=0.05/seed1"
                         "/results.json").read_text())
    assert fingerprint(stored["config"]) == stored["fingerprint"] == "f2b4ec38240dd080"


def test_refresh_every_and_behaviour_are_checked():
    smoke = ["--config", str(ROOT / "configs" / "smoke.yaml")]
    with pytest.raises(ForgetbenchError, match=r"grpo\.refresh_every must be an integer >= 1 or null .*got 0"):
        load_config(smoke + ["--grpo.refresh_every", "0"])
    with pytest.raises(ForgetbenchError, match=r"grpo_offpolicy\.refresh_every refreshes .* 'base' it must be null"):
        load_config(smoke + ["--grpo_offpolicy.behaviour", "base", "--grpo_offpolicy.refresh_every", "2"])
    assert load_config(smoke + ["--grpo.refresh_every", "null"]).grpo.refresh_every is None
