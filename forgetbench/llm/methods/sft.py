"""``sft``: TRL ``SFTTrainer`` on prompt-completion rows (loss on the completion only) — off-policy
likelihood: the targets are the task's teacher's. ``sft.on_policy_fraction`` is the dial towards
``rft``: that share of prompts takes the model's own correct sample instead of the teacher target."""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.plugins.methods import MethodParams, added_trl_args, register_method


@dataclass
class SFTParams(MethodParams):
    learning_rate: float = 3e-4
    trl_args: dict = added_trl_args()
    #: Fraction of prompts whose teacher target is replaced by the model's own correct sample
    #: (0 = pure SFT on the teacher, 1 = on-policy SFT): the dial between off- and on-policy data.
    on_policy_fraction: float = 0.0
    samples_per_prompt: int = 4

    def check(self, section, fail) -> None:
        if not 0.0 <= self.on_policy_fraction <= 1.0:
            fail(f"{section}.on_policy_fraction must be in [0, 1], got {self.on_policy_fraction}")


def train_sft(model, tokenizer, rows, *, steps: int, batch_size: int, learning_rate: float,
              seed: int, output_dir: str, callbacks=(), warmup_ratio: float = 0.0,
              lr_scheduler_type: str = "constant", weight_decay: float = 0.0, max_length: int | None = 1024,
              on_trained=None, trl_args: dict | None = None, section: str = "sft", **kwargs) -> list[dict]:
    """Train ``model`` in place for ``steps`` steps of ``batch_size`` rows of ``{prompt, completion}``
    (over all processes together); return the trainer's log history. ``model`` may be a
    ``peft.PeftModel`` (only its adapter trains); ``on_trained(trainer)`` runs after training. Rows longer
    than ``max_length`` tokens are cut. ``trl_args``: further ``SFTConfig`` fields (of section ``section``)."""
    from accelerate import PartialState
    from trl import SFTConfig, SFTTrainer

    from forgetbench.llm.rl_trainer import trained_log
    from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
    from forgetbench.loop.console import quiet_trainer

    world = PartialState().num_processes
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=max(1, batch_size // world), completion_only_loss=True, max_length=max_length,
        packing=False, warmup_steps=warmup_ratio, lr_scheduler_type=lr_scheduler_type,
        weight_decay=weight_decay, dataset_num_proc=None)
    args = trl_config(SFTConfig, section, fields, trl_args or {})
    trainer = SFTTrainer(model=model, args=args, train_dataset=rows.select_columns(["prompt", "completion"]),
                         processing_class=tokenizer, callbacks=list(callbacks))
    return trained_log(quiet_trainer(trainer), on_trained)


def train_on_targets(stage, fraction: float, own_only: bool = False) -> list[dict]:
    """SFT on the stage's rows, a ``fraction`` of them with the model's own correct sample (of
    ``params.samples_per_prompt``) as the target; ``own_only`` drops the rest (``rft``)."""
    from datasets import Dataset

    from forgetbench.llm.own_samples import mix_targets, own_correct_samples

    p, seed, listed = stage.params, stage.common["seed"], list(stage.rows)
    own = (own_correct_samples(stage.start, stage.tokenizer, stage.task, listed, p.samples_per_prompt, seed=seed)
           if fraction > 0 else [None] * len(listed))
    mixed = mix_targets(listed, own, fraction, seed=seed)
    if own_only:
        mixed = [r for r in mixed if r["own"]]
    stage.stats.update(own_correct_frac=sum(o is not None for o in own) / len(own) if fraction > 0 else None,
                       own_target_frac=sum(r["own"] for r in mixed) / max(1, len(mixed)), sft_rows=len(mixed))
    stage.stats["nothing_to_learn"] = not mixed
    if not mixed:
        print(f"[forgetbench] {stage.method}: no correct own sample among {len(listed)} prompts x "
              f"{p.samples_per_prompt}; the stage trains nothing", flush=True)
        return []
    return train_sft(stage.model, stage.tokenizer, Dataset.from_list(mixed), batch_size=stage.cfg.prompts_per_step,
                     learning_rate=p.learning_rate, output_dir=stage.output_dir, trl_args=p.trl_args,
                     section=stage.method, **stage.common)


def train(stage) -> list[dict]:
    return train_on_targets(stage, stage.params.on_policy_fraction)


register_method("sft", SFTParams, train, data_source="off_policy", objective="likelihood", added=False)
