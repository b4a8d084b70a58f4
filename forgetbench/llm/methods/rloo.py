"""``rloo``: TRL ``RLOOTrainer`` with the task's score as the reward — a second on-policy RL
algorithm beside ``grpo``, with the same budget (per step ``prompts_per_step`` prompts x
``rloo.num_generations`` completions, one optimizer step).

REINFORCE leave-one-out: completion i of a group of G gets the advantage
``A_i = r_i - 1/(G-1) Σ_{j≠i} r_j`` (optionally normalised over the batch, ``normalize_advantages``).
With ``beta > 0`` TRL puts ``-beta · KL(π || π_ref)`` into the reward, the reference being built from
``config._name_or_path`` = the stage-start checkpoint, as for ``grpo``.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.llm.methods.grpo import GroupParams
from forgetbench.plugins.methods import register_method


@dataclass
class RLOOParams(GroupParams):
    normalize_advantages: bool = False
    _group_use = "leave-one-out baselines"


def build_rloo_trainer(model, tokenizer, task, rows, params: RLOOParams, **kwargs):
    from trl import RLOOConfig, RLOOTrainer

    from forgetbench.llm.rl_trainer import build_group_trainer

    own = dict(normalize_advantages=params.normalize_advantages)
    return build_group_trainer(RLOOTrainer, RLOOConfig, "rloo", model, tokenizer, task, rows, params, own, **kwargs)


def train_rloo(*args, on_trained=None, **kwargs) -> list[dict]:
    from forgetbench.llm.rl_trainer import trained_log

    return trained_log(build_rloo_trainer(*args, **kwargs), on_trained)


def train(stage) -> list[dict]:
    from forgetbench.llm.rl_trainer import train_group

    return train_group(stage, build_rloo_trainer)


register_method("rloo", RLOOParams, train, data_source="on_policy", objective="policy_gradient")
