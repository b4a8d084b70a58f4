"""On-policy data: the model's own correct samples (for ``rft`` and ``sft.on_policy_fraction``)."""
from __future__ import annotations

import random

import torch

from forgetbench.llm.chat import raw_example
from forgetbench.llm.eval.generation import generate_completions
from forgetbench.plugins.task import Task


def scored_samples(model, tokenizer, task: Task, rows: list[dict], k: int, seed: int) -> list[list[tuple[str, float]]]:
    """For each row, the model's ``k`` samples at T=1 (seeded, the global RNG left as it was) with
    the task's score of each: ``[(completion, score), ...]``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        completions = generate_completions(model, tokenizer, [r["prompt"] for r in rows], task.max_new_tokens,
                                           do_sample=True, num_return_sequences=k)
    return [[(c, task.checked_score(c, raw_example(row))) for c in completions[i * k:(i + 1) * k]]
            for i, row in enumerate(rows)]


def own_correct_samples(model, tokenizer, task: Task, rows: list[dict], k: int, seed: int) -> list[str | None]:
    """For each row, one of the model's ``k`` samples at T=1 that scores 1 (the first such), else None."""
    out = []
    for samples in scored_samples(model, tokenizer, task, rows, k, seed):
        good = [c for c, score in samples if score >= 1.0]
        out.append(good[0].strip() if good else None)
    return out


def mix_targets(rows: list[dict], own: list[str | None], fraction: float, seed: int) -> list[dict]:
    """Prompt-completion rows: a ``fraction`` of prompts (chosen by ``seed``) take the model's own
    correct sample instead of the teacher target when it has one. ``fraction=1`` with rows lacking
    a correct sample dropped is on-policy SFT (RFT)."""
    rng = random.Random(seed)
    mixed = []
    for row, mine in zip(rows, own):
        use_own = rng.random() < fraction and mine is not None
        mixed.append({"prompt": row["prompt"], "completion": mine if use_own else row["target"],
                      "own": use_own})
    return mixed
