"""``grpo``: TRL ``GRPOTrainer`` with the task's score as the reward — on-policy policy gradient.

Per step: ``prompts_per_step`` prompts x ``num_generations`` completions (one generation batch, one
optimizer step). With ``beta > 0`` TRL builds its reference model from ``config._name_or_path``,
so the stage points that at the checkpoint the stage started from (with a LoRA adapter TRL uses
the adapter-free model instead, which is the same stage-start weights: adapters are merged after
every stage).

On GPU, TRL's vLLM generation is passed through: ``grpo.use_vllm``, ``grpo.vllm_mode`` (``colocate``
or ``server``) and any other ``GRPOConfig`` field in ``grpo.trl_args`` (e.g.
``{vllm_gpu_memory_utilization: 0.3}``).

The staleness dial ``grpo.refresh_every``: 1 (the default) = on-policy GRPO; k > 1 = the completions come
from a frozen copy of the policy refreshed every k optimizer steps, with TRL's clipped importance ratio
against it (``forgetbench.llm.behaviour_grpo``); null = never refreshed (= ``grpo_offpolicy``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from forgetbench.config.marks import ADDED
from forgetbench.plugins.methods import MethodParams, register_method


@dataclass
class GroupParams(MethodParams):
    """The fields of a group-sampling RL method (``grpo``, ``rloo``): ``num_generations`` completions
    per prompt at ``temperature``, KL coefficient ``beta`` to the stage-start model, vLLM generation."""
    learning_rate: float = 1e-4
    #: KL coefficient to the stage-start model (TRL's default for rloo is 0.05; 0 as in RL's Razor).
    beta: float = 0.0
    num_generations: int = 8
    temperature: float = 1.0
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    #: Why a group needs two completions at least (for the message).
    _group_use = "group-relative advantages"

    def check(self, section, fail) -> None:
        if self.num_generations < 2:
            fail(f"{section}.num_generations must be >= 2 ({self._group_use}), got {self.num_generations}")
        if self.beta < 0:
            fail(f"{section}.beta must be >= 0, got {self.beta}")


@dataclass
class GRPOParams(GroupParams):
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    #: Optimizer steps between refreshes of the behaviour policy that samples the completions: 1 =
    #: on-policy (TRL's GRPOTrainer as it is), k = staler, null = never (the stage-start model throughout).
    refresh_every: Optional[int] = field(default=1, metadata=ADDED)

    def check(self, section, fail) -> None:
        super().check(section, fail)
        k = self.refresh_every
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            fail(f"{section}.refresh_every must be an integer >= 1 or null (never refreshed), got {k!r}")


def trl_args(params: GRPOParams) -> dict:
    """``grpo.trl_args``: extra ``GRPOConfig`` fields passed as they are (unknown names are refused)."""
    from trl import GRPOConfig

    from forgetbench.llm.trainer_args import check_trl_args

    return check_trl_args(GRPOConfig, "grpo", params.trl_args)


def build_grpo_trainer(model, tokenizer, task, rows, params: GRPOParams, trainer_cls=None, section: str = "grpo",
                       **kwargs):
    """TRL's ``GRPOTrainer`` (or ``trainer_cls``, e.g. the behaviour-policy subclass) with the shared budget."""
    from trl import GRPOConfig, GRPOTrainer

    from forgetbench.llm.rl_trainer import build_group_trainer

    own = dict(loss_type=params.loss_type, scale_rewards=params.scale_rewards)
    return build_group_trainer(trainer_cls or GRPOTrainer, GRPOConfig, section, model, tokenizer, task, rows, params,
                               own, **kwargs)


def train_grpo(*args, on_trained=None, **kwargs) -> list[dict]:
    from forgetbench.llm.rl_trainer import trained_log

    return trained_log(build_grpo_trainer(*args, **kwargs), on_trained)


def train(stage) -> list[dict]:
    """On-policy GRPO at ``refresh_every: 1``; else GRPO on a behaviour policy's completions."""
    if stage.params.refresh_every == 1:
        from forgetbench.llm.rl_trainer import train_group

        return train_group(stage, build_grpo_trainer)
    from forgetbench.llm.behaviour_grpo import train_behaviour

    return train_behaviour(stage, build_grpo_trainer)


register_method("grpo", GRPOParams, train, data_source="on_policy", objective="policy_gradient", added=False)
