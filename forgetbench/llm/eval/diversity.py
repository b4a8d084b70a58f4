"""Answer diversity on a task: does the policy keep many correct answers, or collapse onto one?

For each prompt x, draw n samples at T=1: ``distinct_correct`` = mean_x |{distinct correct answers}|;
``top_answer_share`` = mean_x (count of the most frequent correct answer / number of correct
samples) over prompts with at least one correct sample (1.0 = collapsed onto one answer).
"""
from __future__ import annotations

from collections import Counter

from forgetbench.llm.chat import raw_example
from forgetbench.llm.eval.generation import generate_completions, seeded
from forgetbench.plugins.task import Task


def answer_stats(groups: list[list[str]], correct: list[list[bool]]) -> dict:
    """The two measures from completions grouped by prompt and their correctness."""
    distinct, shares = [], []
    for comps, ok in zip(groups, correct):
        good = Counter(c.strip() for c, g in zip(comps, ok) if g)
        distinct.append(len(good))
        if good:
            shares.append(max(good.values()) / sum(good.values()))
    return {"distinct_correct": sum(distinct) / len(distinct) if distinct else None,
            "top_answer_share": sum(shares) / len(shares) if shares else None}


def answer_diversity(model, tokenizer, task: Task, rows: list[dict], n: int, seed: int) -> dict:
    """``answer_stats`` of ``n`` samples per row (seeded, so stages are comparable)."""
    with seeded(seed):
        comps = generate_completions(model, tokenizer, [r["prompt"] for r in rows], task.max_new_tokens,
                                     do_sample=True, num_return_sequences=n)
    groups = [comps[i * n:(i + 1) * n] for i in range(len(rows))]
    correct = [[task.checked_score(c, raw_example(r)) >= 1.0 for c in g] for g, r in zip(groups, rows)]
    return answer_stats(groups, correct)
