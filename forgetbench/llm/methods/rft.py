"""``rft``: rejection-sampling fine-tuning — SFT on the model's own correct samples (on-policy data,
likelihood objective: ``sft``'s pair). Per prompt the stage-start model samples
``rft.samples_per_prompt`` completions (T = 1); the first the task scores 1 is the target, prompts
without one are dropped (none at all: the stage trains nothing and says so)."""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.llm.methods.sft import train_on_targets
from forgetbench.plugins.methods import MethodParams, added_trl_args, register_method


@dataclass
class RFTParams(MethodParams):
    learning_rate: float = 3e-4
    trl_args: dict = added_trl_args()
    samples_per_prompt: int = 4


def train(stage) -> list[dict]:
    return train_on_targets(stage, 1.0, own_only=True)


register_method("rft", RFTParams, train, data_source="on_policy", objective="likelihood", added=False)
