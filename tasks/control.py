"""Single-answer new tasks: the controls, where SFT and RL should differ least. ``rotate`` is the
embedded world's control (a string task, so learning it does not compete with the prior skill
``add`` the way ``subtract`` does: measured in README)."""
from __future__ import annotations

from forgetbench import Task, register_task
from ._parse import clean


@register_task
class Subtract(Task):
    name = "subtract"
    description = "new, single answer (control): a 2-digit minus a 1-digit number (sb:52-7= -> 45)"
    max_new_tokens = 4

    def make_example(self, rng):
        a, b = rng.randint(10, 99), rng.randint(1, 9)
        return {"prompt": f"sb:{a}-{b}=", "answer": str(a - b), "target": str(a - b)}

    def score(self, completion, example):
        return float(clean(completion) == example["answer"])


@register_task
class Rotate(Task):
    name = "rotate"
    description = ("new, single answer (control): move the first character of a 4-6 character string "
                   "to its end (ro:ab3k= -> b3ka)")

    def make_example(self, rng):
        from .prior_skills import _word

        w = _word(rng, 4, 6)
        return {"prompt": f"ro:{w}=", "answer": w[1:] + w[0], "target": w[1:] + w[0]}

    pretraining_correct_share = 0.4

    def distractor(self, example):
        return example["prompt"][3:-1]  # the string copied, not rotated

    def score(self, completion, example):
        return float(clean(completion) == example["answer"])
