"""``online_dpo``: TRL's ``OnlineDPOTrainer`` (``trl.experimental.online_dpo``) with the task's score as
``reward_funcs`` — on-policy preferences: the pairs come from the model's own samples.

Per step: ``prompts_per_step`` prompts x 2 completions of the current model (T = ``temperature``),
scored by the task; the higher-scored one is chosen, the other rejected (a tie keeps TRL's rule: the
first sample is chosen), then the DPO loss against the stage-start model (a frozen copy; under LoRA
the model with its adapter off). ``train_stats`` records ``pair_tie_frac``: the share of pairs whose
two rewards were equal — those pairs carry no preference signal from the task.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.llm.methods.dpo import PreferenceParams
from forgetbench.plugins.methods import register_method


@dataclass
class OnlineDPOParams(PreferenceParams):
    temperature: float = 1.0


class RecordedReward:
    """The task's reward, remembering every batch it scored: ``calls`` = ``[(completions, rewards)]``.
    Online DPO scores ``2B`` completions at once: sample i and sample i + B share a prompt."""

    def __init__(self, task):
        from forgetbench.llm.rl_trainer import task_reward

        self.reward, self.calls = task_reward(task), []
        self.__name__ = self.reward.__name__

    def __call__(self, prompts, completions, **columns):
        rewards = self.reward(prompts, completions, **columns)
        self.calls.append((list(completions), list(rewards)))
        return rewards

    def tie_frac(self) -> float | None:
        ties = pairs = 0
        for _, r in self.calls:
            half = len(r) // 2
            ties += sum(a == b for a, b in zip(r[:half], r[half:]))
            pairs += half
        return ties / pairs if pairs else None


def with_bos(tokenizer, prompts: list[str]) -> list[str]:
    """OnlineDPOTrainer tokenizes prompts without special tokens: put the BOS the tokenizer would add
    back in front, so the model sees what it sees everywhere else."""
    bos = tokenizer.bos_token
    adds = bos is not None and tokenizer("x")["input_ids"][:1] == [tokenizer.bos_token_id]
    return [bos + p if adds and not p.startswith(bos) else p for p in prompts]


def build_online_dpo_trainer(model, tokenizer, task, rows, params: OnlineDPOParams, *, steps: int,
                             prompts_per_step: int, seed: int, output_dir: str, callbacks=(), **kwargs):
    from accelerate import PartialState
    from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

    from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
    from forgetbench.loop.console import quiet_trainer

    world = PartialState().num_processes
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=max(1, prompts_per_step // world), max_new_tokens=task.max_new_tokens,
        temperature=params.temperature, top_k=0, top_p=1.0, beta=[params.beta], loss_type=params.loss_type,
        lr_scheduler_type="constant")
    args = trl_config(OnlineDPOConfig, "online_dpo", fields, params.trl_args)
    columns = [c for c in ("prompt", "answer", "target", "raw_prompt") if c in rows.column_names]
    data = rows.select_columns(columns)
    data = data.map(lambda r: {"raw_prompt": r.get("raw_prompt") or r["prompt"],  # the task scores its own prompt
                               "prompt": with_bos(tokenizer, [r["prompt"]])[0]})
    reward = RecordedReward(task)
    trainer = OnlineDPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=data,
                               processing_class=tokenizer, callbacks=list(callbacks))
    return quiet_trainer(trainer), reward


def train_online_dpo(*args, on_trained=None, stats: dict | None = None, **kwargs) -> list[dict]:
    from forgetbench.llm.rl_trainer import trained_log

    trainer, reward = build_online_dpo_trainer(*args, **kwargs)
    log = trained_log(trainer, on_trained)
    if stats is not None:
        stats["pair_tie_frac"] = reward.tie_frac()
    return log


def train(s) -> list[dict]:
    return train_online_dpo(s.model, s.tokenizer, s.task, s.rows, s.params, stats=s.stats,
                            prompts_per_step=s.cfg.prompts_per_step, output_dir=s.output_dir, **s.common)


register_method("online_dpo", OnlineDPOParams, train, data_source="on_policy", objective="preference")
