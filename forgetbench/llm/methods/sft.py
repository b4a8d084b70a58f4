"""``sft``: TRL ``SFTTrainer`` on prompt-completion rows (loss on the completion only)."""
from __future__ import annotations

from accelerate import PartialState
from datasets import Dataset
from trl import SFTConfig, SFTTrainer

from forgetbench.loop.console import quiet_trainer
from forgetbench.llm.trainer_args import common_trainer_kwargs


def train_sft(model, tokenizer, rows: Dataset, *, steps: int, batch_size: int, learning_rate: float,
              seed: int, output_dir: str, callbacks=(), warmup_ratio: float = 0.0,
              lr_scheduler_type: str = "constant", weight_decay: float = 0.0, max_length: int | None = 1024,
              on_trained=None, **kwargs) -> list[dict]:
    """Train ``model`` in place for ``steps`` steps of ``batch_size`` rows of ``{prompt, completion}``
    (over all processes together); return the trainer's log history. ``model`` may be a
    ``peft.PeftModel`` (only its adapter trains); ``on_trained(trainer)`` runs after training. Rows longer than ``max_length`` tokens are cut."""
    world = PartialState().num_processes
    args = SFTConfig(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=max(1, batch_size // world), completion_only_loss=True, max_length=max_length,
        packing=False, warmup_steps=warmup_ratio, lr_scheduler_type=lr_scheduler_type,
        weight_decay=weight_decay, dataset_num_proc=None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=rows.select_columns(["prompt", "completion"]),
                         processing_class=tokenizer, callbacks=list(callbacks))
    quiet_trainer(trainer).train()
    if on_trained is not None:
        on_trained(trainer)
    return trainer.state.log_history
