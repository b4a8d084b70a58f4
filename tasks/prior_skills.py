"""Prior skills of the embedded world: one correct answer each; evaluated, never trained."""
from __future__ import annotations

import string

from forgetbench import Task, register_task
from ._parse import clean

ALPHABET = string.digits + "abcdefghijklmnopqrstuvwxyz"


def _word(rng, lo=3, hi=6):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))


class _ExactTask(Task):
    def score(self, completion, example):
        return float(clean(completion) == example["answer"])


@register_task
class Copy(_ExactTask):
    name = "copy"
    description = "prior skill: copy a 3-6 character string (cp:ab3k= -> ab3k)"

    def make_example(self, rng):
        w = _word(rng)
        return {"prompt": f"cp:{w}=", "answer": w, "target": w}


@register_task
class Reverse(_ExactTask):
    name = "reverse"
    description = "prior skill: reverse a 3-6 character string (rv:ab3k= -> k3ba)"

    def make_example(self, rng):
        w = _word(rng)
        return {"prompt": f"rv:{w}=", "answer": w[::-1], "target": w[::-1]}


@register_task
class Add(_ExactTask):
    name = "add"
    description = "prior skill: add a 1-digit number to a 2-digit one (ad:47+5= -> 52)"
    max_new_tokens = 4

    def make_example(self, rng):
        a, b = rng.randint(10, 99), rng.randint(1, 9)
        return {"prompt": f"ad:{a}+{b}=", "answer": str(a + b), "target": str(a + b)}
