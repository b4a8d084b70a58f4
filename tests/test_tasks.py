"""Built-in tasks: score on crafted completions, teachers, eval/train disjointness."""
import random

import pytest

from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.registry import get_task


def ex(task, prompt_answer):
    prompt, answer = prompt_answer
    return {"prompt": prompt, "answer": answer, "target": ""}


@pytest.mark.parametrize("name,example,right,wrong", [
    ("copy", ("cp:ab3k=", "ab3k"), ["ab3k", " ab3k ", "ab3k\n"], ["", "ab3", "k3ba", "ab3kk", "@@@"]),
    ("reverse", ("rv:ab3k=", "k3ba"), ["k3ba", "  k3ba"], ["ab3k", "", "k3b a"]),
    ("add", ("ad:47+5=", "52"), ["52", " 52 "], ["53", "052", "", "5 2", "fifty"]),
    ("subtract", ("sb:52-7=", "45"), ["45"], ["44", "-45", "", "45+0"]),
    ("rotate", ("ro:ab3k=", "b3ka"), ["b3ka", " b3ka\n"], ["ab3k", "k3ba", "kab3", "b3k", ""]),
    ("even_between", ("ev:23-41:", "23,41"), ["24", "40", " 30 "], ["22", "41", "42", "25", "", "024", "2 4"]),
    ("sum_to", ("sm:57:", "57"), ["1+56", "28+29", " 56+1 "], ["0+57", "57", "28+28", "28 + 29", "", "01+56"]),
    ("multiple", ("ml:7<60:", "7,60"), ["7", "56", "28"], ["0", "63", "60", "8", "", "-7", "x"]),
])
def test_score_crafted(name, example, right, wrong):
    task = get_task(name)
    e = ex(task, example)
    assert [task.score(c, e) for c in right] == [1.0] * len(right)
    assert [task.score(c, e) for c in wrong] == [0.0] * len(wrong)


@pytest.mark.parametrize("name", ["even_between", "sum_to", "multiple"])
def test_many_answer_teachers_are_correct_and_differ(name):
    rows = {t: list(get_task(name, teacher=t).load("eval")) for t in ("easy", "hard", "uniform")}
    task = get_task(name)
    for t, rs in rows.items():
        assert all(task.score(r["target"], r) == 1.0 for r in rs), t
        # a multi-answer task really has many answers, and the teacher is one of them
        assert all(len(task.correct_answers(r)) >= 2 and r["target"] in task.correct_answers(r) for r in rs)
    assert [r["prompt"] for r in rows["easy"]] == [r["prompt"] for r in rows["hard"]]
    differ = sum(a["target"] != b["target"] for a, b in zip(rows["easy"], rows["hard"]))
    assert differ > 0.9 * len(rows["easy"])


def test_known_teacher_values():
    e = {"prompt": "ml:7<60:", "answer": "7,60"}
    assert get_task("multiple", teacher="easy").teacher(["7"], "7", "56", random.Random(0)) == "7"
    assert get_task("sum_to").correct_answers({"answer": "4"}) == ["1+3", "2+2", "3+1"]
    assert get_task("even_between").correct_answers({"answer": "23,29"}) == ["24", "26", "28"]
    assert get_task("multiple").correct_answers(e) == ["7", "14", "21", "28", "35", "42", "49", "56"]


def test_eval_fixed_by_seed_and_disjoint_from_train():
    for name in ["copy", "add", "sum_to", "multiple", "subtract", "rotate", "even_between"]:
        task = get_task(name)
        ev, ev2, tr = task.load("eval"), task.load("eval"), task.load("train")
        assert ev["prompt"] == ev2["prompt"] and len(set(ev["prompt"])) == len(ev) == task.n_eval
        assert not set(ev["prompt"]) & set(tr["prompt"])
        assert task.load("eval", seed=1)["prompt"] != ev["prompt"]


def test_world_shapes_every_method_can_reach():
    """even_between: every interval holds a multiple of ten (b - a >= 11); sum_to: n is never a
    multiple of ten, so the easy teacher (the decimal split) is always a correct answer; rotate's
    target is the string rotated by one."""
    for r in get_task("even_between").load("eval"):
        a, b = map(int, r["answer"].split(","))
        assert b - a >= 11 and any(x % 10 == 0 for x in range(a + 1, b))
    task = get_task("sum_to")
    for r in task.load("eval"):
        n = int(r["answer"])
        assert n % 10 and r["target"] == f"{n - n % 10}+{n % 10}" and task.score(r["target"], r) == 1.0
    rot = get_task("rotate").make_example(random.Random(3))
    w = rot["prompt"][3:-1]
    assert rot["target"] == w[1:] + w[0] and 4 <= len(w) <= 6


def test_bad_teacher_option_and_unknown_option():
    with pytest.raises(ForgetbenchError, match="teacher must be one of"):
        get_task("sum_to", teacher="nope")
    with pytest.raises(ForgetbenchError, match="unknown option"):
        get_task("copy", teacher="easy")


SHARES = {  # the share of correct pretraining answers, by hand, per part of the prompt space
    "rotate": lambda r: 0.4,
    "sum_to": lambda r: 0.65,
    "even_between": lambda r: 0.7 if int(r["answer"].split(",")[0]) <= 39 else 0.3,
    "multiple": lambda r: 0.7 if int(r["answer"].split(",")[0]) <= 4 else 0.25,
}


@pytest.mark.parametrize("name", sorted(SHARES))
def test_pretraining_answers_mix_correct_answers_with_a_wrong_distractor(name):
    """The embedded base's pretraining rows for a new task: in each part of the prompt space its
    share of correct answers, the rest one plausible mistake that the task scores 0."""
    task, rng = get_task(name), random.Random(7)
    rows = list(task.load("train"))[:600]
    by_share: dict[float, list[float]] = {}
    for r in rows:
        assert task.correct_share(r) == SHARES[name](r)
        assert task.score(task.pretraining_correct(r, rng), r) == 1.0
        assert task.score(task.distractor(r), r) == 0.0
        by_share.setdefault(SHARES[name](r), []).extend(task.score(task.pretraining_answer(r, rng), r) for _ in range(8))
    for share, scores in by_share.items():
        assert len(scores) > 800 and abs(sum(scores) / len(scores) - share) < 0.04, (share, len(scores))
