"""The shipped lm-eval suite's data: the embedded world's prior skills as lm-eval documents.

``python -m forgetbench.llm.eval.lm_eval_data`` rewrites ``forgetbench/lm_eval_tasks/*.jsonl`` from the
suite's own eval sets (``Task.load("eval")``, seed 0): the first ``N_PER_SKILL`` prompts of ``copy``,
``reverse`` and ``add``, in that order, so a row of the lm-eval tasks is a row the suite's own columns
score too. Generation documents: ``{skill, prompt, answer}``. Multiple-choice documents add
``choices`` (the answer and three plausible mistakes, in a seeded order) and ``label`` (the index of
the answer).
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from forgetbench.plugins.registry import builtin_module

ALPHABET = builtin_module("prior_skills").ALPHABET

SKILLS = ("copy", "reverse", "add")
N_PER_SKILL = 50
SUITE_DIR = Path(__file__).resolve().parents[2] / "lm_eval_tasks"


def _mistakes(skill: str, prompt: str, answer: str) -> list[str]:
    """Three wrong answers a model of the world could give: distinct, never the answer nor a prefix of it
    (log-likelihoods stop before EOS, so a prefix of the answer would always score at least as high)."""
    if skill == "add":
        n = int(answer)
        cands = [str(n + 1), str(n - 1), str(n + 10), str(n - 10), str(n + 2)]
    else:
        word = prompt[3:-1]
        other = word if skill == "reverse" else word[::-1]   # the other skill's answer
        last = ALPHABET[(ALPHABET.index(answer[-1]) + 1) % len(ALPHABET)]
        cands = [other, answer[:-1] + last, answer + answer[-1], answer[1:] + answer[0], answer[::-1] + "0"]
    out = []
    for c in cands:
        if c and not answer.startswith(c) and c not in out:
            out.append(c)
    return out[:3]


def documents(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(generation documents, multiple-choice documents), one per prompt, in skill order."""
    from forgetbench.plugins.registry import discover, get_task

    discover([])
    gen, mc = [], []
    rng = random.Random(f"lm_eval_mc/{seed}")
    rows = {s: list(get_task(s).load("eval", seed=seed))[:N_PER_SKILL] for s in SKILLS}
    for i in range(N_PER_SKILL):
        for skill in SKILLS:
            ex = rows[skill][i]
            gen.append({"skill": skill, "prompt": ex["prompt"], "answer": ex["answer"]})
            choices = [ex["answer"], *_mistakes(skill, ex["prompt"], ex["answer"])]
            rng.shuffle(choices)
            mc.append({"skill": skill, "prompt": ex["prompt"], "answer": ex["answer"], "choices": choices,
                       "label": choices.index(ex["answer"])})
    return gen, mc


def write(out_dir: Path = SUITE_DIR) -> None:
    gen, mc = documents()
    for name, docs in (("prior_skills_gen.jsonl", gen), ("prior_skills_mc.jsonl", mc)):
        (out_dir / name).write_text("".join(json.dumps(d) + "\n" for d in docs))


if __name__ == "__main__":
    write()
