"""``kd``: sequence-level knowledge distillation — SFT on a teacher's sampled completions (off-policy:
the data come from the teacher, not from the model being trained).

Before training, the teacher (``kd.teacher``: ``expert`` or a model path, see ``teacher``) samples
``kd.samples_per_prompt`` completions (T = ``kd.temperature``, no top-k/top-p) for each of the stage's
``max_steps × prompts_per_step`` training prompts; every sample, right or wrong, becomes an SFT row
``{prompt, completion}``. Then ``max_steps`` ``SFTTrainer`` steps of ``prompts_per_step`` rows
(loss on the completion only), as for ``sft``: the budget of ``sft`` with the teacher's samples in
place of the task's targets.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.plugins.methods import MethodParams, added_trl_args, register_method


@dataclass
class KDParams(MethodParams):
    learning_rate: float = 3e-4
    trl_args: dict = added_trl_args()
    #: ``expert`` (the stage-start model fine-tuned by SFT on the task's targets) or a model path.
    teacher: str = "expert"
    #: Teacher samples per training prompt (T = ``temperature``); every sample is an SFT row.
    samples_per_prompt: int = 1
    temperature: float = 1.0

    def check(self, section, fail) -> None:
        if self.samples_per_prompt < 1:
            fail(f"{section}.samples_per_prompt must be >= 1, got {self.samples_per_prompt}")


def teacher_rows(teacher, tokenizer, rows: list[dict], max_new_tokens: int, k: int, temperature: float,
                 seed: int) -> list[dict]:
    """``k`` teacher samples per row as ``{prompt, completion}`` rows (prompt-major order)."""
    import torch

    from forgetbench.llm.eval.generation import generate_completions

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        completions = generate_completions(teacher, tokenizer, [r["prompt"] for r in rows], max_new_tokens,
                                           do_sample=True, num_return_sequences=k, temperature=temperature)
    return [{"prompt": r["prompt"], "completion": c.strip()}
            for r, group in zip(rows, (completions[i * k:(i + 1) * k] for i in range(len(rows)))) for c in group]


def train_kd(stage, teacher, teacher_tokenizer) -> list[dict]:
    from datasets import Dataset

    from forgetbench.llm.methods.sft import train_sft

    p = stage.params
    rows = teacher_rows(teacher, teacher_tokenizer, list(stage.rows), stage.task.max_new_tokens, p.samples_per_prompt,
                        p.temperature, seed=stage.common["seed"])
    stage.stats.update(sft_rows=len(rows), teacher_sample_correct_frac=_correct_frac(stage, rows))
    return train_sft(stage.model, stage.tokenizer, Dataset.from_list(rows), batch_size=stage.cfg.prompts_per_step,
                     learning_rate=p.learning_rate, output_dir=stage.output_dir, trl_args=p.trl_args,
                     section="kd", **stage.common)


def _correct_frac(stage, rows: list[dict]) -> float:
    from forgetbench.llm.chat import raw_example

    k = stage.params.samples_per_prompt
    scores = [stage.task.checked_score(r["completion"], raw_example(src))
              for src, r in zip((s for s in stage.rows for _ in range(k)), rows)]
    return sum(s >= 1.0 for s in scores) / len(scores)


def train(stage) -> list[dict]:
    from forgetbench.llm.teacher import stage_teacher

    teacher, tok, stage.stats["teacher"] = stage_teacher(stage, "kd")
    return train_kd(stage, teacher, tok)


register_method("kd", KDParams, train, data_source="off_policy", objective="distillation", teacher=True)
