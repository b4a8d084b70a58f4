"""The on-policy spectrum's methods behind one call: ``train_spectrum(method, stage)``.

Pairs with one objective and two data sources (off-policy / on-policy): distillation ``kd`` / ``opd``,
preferences ``dpo`` / ``online_dpo``; beside them the RL algorithm ``rloo`` and self-distillation
``sdft`` (``sft`` / ``rft`` and ``grpo`` live in the learner). Each returns the trainer's log history
and adds its own numbers to ``stage.stats``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset


@dataclass
class Stage:
    """What a method needs to train one stage."""
    cfg: Any
    number: int
    task: Any
    rows: Dataset              # the stage's max_steps x prompts_per_step training rows (model-formatted prompts)
    eval_rows: list[dict]      # the task's eval rows (for a teacher's accuracy)
    model: Any                 # what trains: the model, or its LoRA-wrapped view
    start: Any                 # the plain stage-start model (samples before training; the expert's start)
    tokenizer: Any
    stats: dict
    output_dir: str
    common: dict               # steps, seed, callbacks, activation_checkpointing, on_trained
    teacher_dir: Path          # where ``teacher: expert`` models are kept (the run directory's teachers/)


def _rloo(s: Stage):
    from forgetbench.llm.methods.rloo import train_rloo

    return train_rloo(s.model, s.tokenizer, s.task, s.rows, s.cfg.rloo, prompts_per_step=s.cfg.prompts_per_step,
                      output_dir=s.output_dir, **s.common)


def _dpo(s: Stage):
    from forgetbench.llm.methods.dpo import preference_pairs, train_dpo

    listed = list(s.rows)
    pairs = preference_pairs(s.start, s.tokenizer, s.task, listed, s.cfg.dpo.samples_per_prompt, s.common["seed"])
    s.stats.update(dpo_pairs=len(pairs), dpo_pair_frac=len(pairs) / len(listed), nothing_to_learn=not pairs)
    if not pairs:
        print(f"[forgetbench] dpo: no incorrect own sample among {len(listed)} prompts x "
              f"{s.cfg.dpo.samples_per_prompt}; no pair, the stage trains nothing", flush=True)
        return []
    return train_dpo(s.model, s.tokenizer, Dataset.from_list(pairs), s.cfg.dpo, batch_size=s.cfg.prompts_per_step,
                     output_dir=s.output_dir, **s.common)


def _online_dpo(s: Stage):
    from forgetbench.llm.methods.online_dpo import train_online_dpo

    return train_online_dpo(s.model, s.tokenizer, s.task, s.rows, s.cfg.online_dpo, stats=s.stats,
                            prompts_per_step=s.cfg.prompts_per_step, output_dir=s.output_dir, **s.common)


def _kd(s: Stage):
    from forgetbench.llm.methods.kd import train_kd
    from forgetbench.llm.methods.teacher import stage_teacher

    teacher, tok, s.stats["teacher"] = stage_teacher(s, "kd")
    return train_kd(s, teacher, tok)


def _opd(s: Stage):
    from forgetbench.llm.methods.opd import train_opd
    from forgetbench.llm.methods.teacher import stage_teacher

    teacher, _, s.stats["teacher"] = stage_teacher(s, "opd")
    return train_opd(s.model, s.tokenizer, teacher, s.task, s.rows, s.cfg.opd, prompts_per_step=s.cfg.prompts_per_step,
                     output_dir=s.output_dir, **s.common)


def _sdft(s: Stage):
    from forgetbench.llm.methods.sdft import train_sdft

    return train_sdft(s.model, s.tokenizer, s.task, s.rows, s.cfg.sdft, prompts_per_step=s.cfg.prompts_per_step,
                      output_dir=s.output_dir, **s.common)


TRAIN = {"rloo": _rloo, "dpo": _dpo, "online_dpo": _online_dpo, "kd": _kd, "opd": _opd, "sdft": _sdft}


def train_spectrum(method: str, stage: Stage) -> list[dict]:
    return TRAIN[method](stage)
