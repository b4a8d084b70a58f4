"""``teacher_mix``: on the tasks with an easy and a hard teacher rule (``Task.teacher_rules``), the share of
SFT targets taken from the hard rule (0 = all easy, 1 = all hard), drawn per prompt and seed, and the
teacher's forward KL to the base (``measures.teacher_kl``) on the task's eval prompts.

A prompt x takes the hard target when u(seed, task, x) < teacher_mix, u a hash of the three mapped to
[0, 1): the same prompt always gets the same target in a run. The teacher's distribution on x is the
mixture q = (1 − m)·δ_easy + m·δ_hard (a point mass when easy = hard); without ``teacher_mix`` it is the
task's own rule: a point mass on the easy or the hard target, uniform over the correct answers for
``uniform``, a point mass on ``target`` for a task without rules.
"""
from __future__ import annotations

import hashlib

from forgetbench.llm.chat import raw_example
from forgetbench.measures.teacher_kl import completion_logprobs, forward_kl


def hard_pick(seed: int, task: str, prompt: str, mix: float) -> bool:
    """Whether the prompt takes the hard target: u < mix, u = the first 52 bits of sha256 in [0, 1)."""
    u = int(hashlib.sha256(f"{seed}/{task}/{prompt}".encode()).hexdigest()[:13], 16) / 16 ** 13
    return u < mix


def mixed_rows(task, rows: list[dict], mix: float | None, seed: int) -> list[dict]:
    """``rows`` (the task's raw examples) with ``target`` from the hard rule on a ``mix`` share of prompts and
    from the easy rule elsewhere; unchanged when ``mix`` is None or the task has no rules."""
    if mix is None or not rows or task.teacher_rules(rows[0]) is None:
        return list(rows)
    return [{**r, "target": task.teacher_rules(r)["hard" if hard_pick(seed, task.name, r["prompt"], mix) else "easy"]}
            for r in rows]


def teacher_distribution(task, example: dict, mix: float | None) -> dict[str, float]:
    """q(·|x) of the teacher on one raw example (see the module docstring)."""
    rules = task.teacher_rules(example)
    if rules is None:
        return {str(example["target"]): 1.0}
    if mix is None:
        rule = task.opts.get("teacher")
        if rule not in ("easy", "hard"):
            answers = task.correct_answers(example)
            return {a: 1.0 / len(answers) for a in answers}
        mix = 1.0 if rule == "hard" else 0.0
    q: dict[str, float] = {}
    for y, w in ((rules["easy"], 1.0 - mix), (rules["hard"], mix)):
        if w > 0:
            q[y] = q.get(y, 0.0) + w
    return q


def teacher_kl(base, tokenizer, task, rows: list[dict], mix: float | None, batch_size: int = 64) -> dict:
    """``{"teacher_forward_kl": KL(q ‖ π0) in nats per prompt, "teacher_kl_prompts": n}`` over ``rows`` (the
    task's model-formatted eval rows)."""
    qs = [teacher_distribution(task, raw_example(r), mix) for r in rows]
    pairs = [(r["prompt"], y) for r, q in zip(rows, qs) for y in q]
    flat = iter(completion_logprobs(base, tokenizer, pairs, batch_size))
    logps = [{y: next(flat) for y in q} for q in qs]
    return {"teacher_forward_kl": forward_kl(qs, logps), "teacher_kl_prompts": len(rows)}
