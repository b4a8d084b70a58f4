"""``dpo``: TRL ``DPOTrainer`` on preference pairs fixed before training (off-policy preferences).

For each of the stage's ``max_steps × prompts_per_step`` training prompts, before the first step:
chosen = the task's teacher target (a correct answer), rejected = the first of the stage-start
model's ``dpo.samples_per_prompt`` samples (T = 1) that the task scores below 1 (an incorrect answer).
**A prompt none of whose samples is incorrect gives no pair and is dropped** (the model already
solves it; ``train_stats`` records the share kept as ``dpo_pair_frac``); the stage then runs its
``max_steps`` steps of ``prompts_per_step`` pairs over the pairs kept (repeating them), like ``rft``
over its kept rows. No pair at all: the stage trains nothing and says so.

Loss (``loss_type: sigmoid``): ``−log σ(β [(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))])``
with the reference π_ref = the stage-start model (TRL builds it from ``config._name_or_path``, which
the learner points at the stage's starting checkpoint; under LoRA: the model with its adapter off).
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.plugins.methods import MethodParams, register_method


@dataclass
class PreferenceParams(MethodParams):
    """The fields of a DPO-loss method (``dpo``, ``online_dpo``): ``beta`` and TRL's ``loss_type``."""
    learning_rate: float = 1e-4
    beta: float = 0.1
    loss_type: str = "sigmoid"

    def check(self, section, fail) -> None:
        if self.beta < 0:
            fail(f"{section}.beta must be >= 0, got {self.beta}")


@dataclass
class DPOParams(PreferenceParams):
    #: Samples of the stage-start model per prompt, searched for an incorrect one (the rejected answer).
    samples_per_prompt: int = 4

    def check(self, section, fail) -> None:
        super().check(section, fail)
        if self.samples_per_prompt < 1:
            fail(f"{section}.samples_per_prompt must be >= 1, got {self.samples_per_prompt}")


def preference_pairs(model, tokenizer, task, rows: list[dict], k: int, seed: int) -> list[dict]:
    """``{prompt, chosen, rejected}`` per row that has an incorrect sample among ``k`` (chosen = the
    row's ``target``, rejected = the first sample scoring < 1); rows without one are left out."""
    from forgetbench.llm.own_samples import scored_samples

    pairs = []
    for row, samples in zip(rows, scored_samples(model, tokenizer, task, rows, k, seed)):
        wrong = [c for c, score in samples if score < 1.0]
        if wrong:
            pairs.append({"prompt": row["prompt"], "chosen": row["target"], "rejected": wrong[0].strip()})
    return pairs


def train_dpo(model, tokenizer, pairs, params: DPOParams, *, steps: int, batch_size: int, seed: int,
              output_dir: str, callbacks=(), on_trained=None, **kwargs) -> list[dict]:
    from accelerate import PartialState
    from trl import DPOConfig, DPOTrainer

    from forgetbench.llm.rl_trainer import trained_log
    from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
    from forgetbench.loop.console import quiet_trainer

    world = PartialState().num_processes
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=max(1, batch_size // world), beta=params.beta, loss_type=[params.loss_type],
        lr_scheduler_type="constant", dataset_num_proc=None)
    args = trl_config(DPOConfig, "dpo", fields, params.trl_args)
    trainer = DPOTrainer(model=model, args=args, train_dataset=pairs.select_columns(["prompt", "chosen", "rejected"]),
                         processing_class=tokenizer, callbacks=list(callbacks))
    return trained_log(quiet_trainer(trainer), on_trained)


def train(stage) -> list[dict]:
    from datasets import Dataset

    s, p = stage, stage.params
    s.start.config._name_or_path = s.start_path  # the reference model is the stage start
    listed = list(s.rows)
    pairs = preference_pairs(s.start, s.tokenizer, s.task, listed, p.samples_per_prompt, s.common["seed"])
    s.stats.update(dpo_pairs=len(pairs), dpo_pair_frac=len(pairs) / len(listed), nothing_to_learn=not pairs)
    if not pairs:
        print(f"[forgetbench] dpo: no incorrect own sample among {len(listed)} prompts x "
              f"{p.samples_per_prompt}; no pair, the stage trains nothing", flush=True)
        return []
    return train_dpo(s.model, s.tokenizer, Dataset.from_list(pairs), p, batch_size=s.cfg.prompts_per_step,
                     output_dir=s.output_dir, **s.common)


register_method("dpo", DPOParams, train, data_source="off_policy", objective="preference")
