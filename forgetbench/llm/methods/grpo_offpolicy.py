"""``grpo_offpolicy``: GRPO's group advantages and clipped, importance-weighted loss on completions
sampled from a **frozen behaviour policy** π_b — the policy-gradient learner on off-policy data, the
missing cell of the data source × objective 2×2.

Same prompts, optimizer steps and completions per step as ``grpo`` (TRL's ``GRPOTrainer`` with only the
generation source swapped: ``forgetbench.llm.behaviour_grpo``). ``grpo_offpolicy.behaviour``: ``start``
(default: the stage-start model, frozen for the whole stage), ``base`` (the run's base model) or a model
path sharing the run's tokenizer. ``refresh_every`` (default null = never) refreshes a ``start``
behaviour policy to the learner every k optimizer steps — the same dial as ``grpo.refresh_every``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from forgetbench.llm.methods.grpo import GRPOParams, build_grpo_trainer
from forgetbench.plugins.methods import register_method


@dataclass
class OffPolicyGRPOParams(GRPOParams):
    refresh_every: Optional[int] = None
    #: start (the stage-start model), base (the run's base model) or a model path.
    behaviour: str = "start"

    def check(self, section, fail) -> None:
        super().check(section, fail)
        if not isinstance(self.behaviour, str) or not self.behaviour:
            fail(f"{section}.behaviour must be start, base or a model path, got {self.behaviour!r}")
        if self.behaviour != "start" and self.refresh_every is not None:
            fail(f"{section}.refresh_every refreshes the stage-start behaviour policy; with behaviour "
                 f"{self.behaviour!r} it must be null, got {self.refresh_every}")


def train(stage) -> list[dict]:
    from forgetbench.llm.behaviour_grpo import train_behaviour

    return train_behaviour(stage, build_grpo_trainer)


register_method("grpo_offpolicy", OffPolicyGRPOParams, train, data_source="off_policy", objective="policy_gradient")
