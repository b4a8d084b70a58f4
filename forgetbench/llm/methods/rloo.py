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

from forgetbench.plugins.methods import MethodParams, register_method


@dataclass
class RLOOParams(MethodParams):
    learning_rate: float = 1e-4
    #: KL coefficient to the stage-start model (TRL's default is 0.05; 0 as for grpo, RL's Razor).
    beta: float = 0.0
    num_generations: int = 8
    temperature: float = 1.0
    normalize_advantages: bool = False
    use_vllm: bool = False
    vllm_mode: str = "colocate"

    def check(self, fail) -> None:
        if self.num_generations < 2:
            fail(f"rloo.num_generations must be >= 2 (leave-one-out baselines), got {self.num_generations}")
        if self.beta < 0:
            fail(f"rloo.beta must be >= 0, got {self.beta}")


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
