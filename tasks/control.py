"""The single-answer new task: the control, where SFT and RL should differ least."""
from __future__ import annotations

from forgetbench import Task, register_task
from tasks._parse import clean


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
