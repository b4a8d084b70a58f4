"""The shipped lm-eval suite's data: the embedded world's prior skills as lm-eval documents.

``python -m forgetbench.llm.eval.lm_eval_data`` rewrites ``forgetbench/lm_eval_tasks/*.jsonl`` from the
suite's own eval sets (``Task.load("eval")``, seed 0): the first ``N_PER_SKILL`` prompts of ``copy``,
``reverse`` and ``add``, in that order, so a row of the lm-eval tasks is a row the suite's own columns
score too. Generation documents: ``{skill, prompt, answer}``. Multiple-choice documents add
``choices`` (the answer and three plausible mistakes, in a seeded order) and ``label`` (the index of
the answer).

The chat model's counterpart, ``forgetbench_instruct_mc`` (``instruct_skills_mc.jsonl``, run with
``eval.lm_eval.apply_chat_template: true``): the first ``N_PER_SKILL`` eval prompts of the instruct
prior skills ``capital_city``, ``opposite_word`` and ``add_digits``, interleaved; each choice is a whole
reply in the task's teacher form ("The capital of Peru is Lima.") and the three mistakes swap the
answer for another capital, a non-antonym (the word itself first) or a sum off by 1, -1 or 10.
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


INSTRUCT_SKILLS = ("capital_city", "opposite_word", "add_digits")


def _instruct_choices(skill: str, row: dict, rng: random.Random) -> tuple[str, list[str]]:
    """(the right reply, three wrong ones) in the task's teacher form."""
    words = builtin_module("_instruct_words")
    head, _, right = row["target"][:-1].rpartition(" ")    # "The capital of Peru is" / "Lima"
    if skill == "capital_city":
        head, right = row["target"][:-1].rsplit(" is ", 1)[0] + " is", row["answer"]
        pool = sorted(set(words.CAPITALS.values()) - {right})
        wrong = rng.sample(pool, 3)
    elif skill == "opposite_word":
        w = row["answer"]
        pool = sorted(set(words.ANTONYMS) - set(words.ANTONYMS[w]) - {w})
        wrong = [w, *rng.sample(pool, 2)]
    else:
        n = int(right)
        wrong = [str(n + 1), str(n - 1), str(n + 10)]
    return f"{head} {right}.", [f"{head} {x}." for x in wrong]


def instruct_documents(seed: int = 0) -> list[dict]:
    """Multiple-choice documents of the instruct prior skills, one per prompt, skills interleaved."""
    from forgetbench.plugins.registry import discover, get_task

    discover([])
    rng = random.Random(f"lm_eval_instruct_mc/{seed}")
    rows = {s: list(get_task(s).load("eval", seed=seed))[:N_PER_SKILL] for s in INSTRUCT_SKILLS}
    out = []
    for i in range(N_PER_SKILL):
        for skill in INSTRUCT_SKILLS:
            ex = rows[skill][i]
            right, wrong = _instruct_choices(skill, ex, rng)
            choices = [right, *wrong]
            rng.shuffle(choices)
            out.append({"skill": skill, "prompt": ex["prompt"], "answer": ex["answer"], "choices": choices,
                        "label": choices.index(right)})
    return out


def write(out_dir: Path = SUITE_DIR) -> None:
    gen, mc = documents()
    for name, docs in (("prior_skills_gen.jsonl", gen), ("prior_skills_mc.jsonl", mc),
                       ("instruct_skills_mc.jsonl", instruct_documents())):
        (out_dir / name).write_text("".join(json.dumps(d) + "\n" for d in docs))


if __name__ == "__main__":
    write()
