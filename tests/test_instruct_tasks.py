"""Instruct-model tasks (tasks/instruct.py): sentence-tolerant scoring on crafted replies, teachers,
eval/train disjointness."""
import pytest

from forgetbench.plugins.registry import get_task


@pytest.mark.parametrize("name,example,right,wrong", [
    ("say_word", {"answer": "panda"}, ["Panda.", "The word 'panda' is nice", "panda"], ["pandas", "", "bear"]),
    ("capital_city", {"answer": "Lima"}, ["The capital of Peru is Lima.", "Lima", "lima, Peru"],
     ["Cusco. Lima is not", "Peru", ""]),
    ("add_digits", {"answer": "8"}, ["3 + 5 = 8", "The answer is 8.", "8"], ["8 is wrong: 9", "3 + 5", "3 + 5 = 9\n8", ""]),
    ("subtract_digits", {"answer": "7"}, ["12 - 5 = 7", "7."], ["12 - 5 = 12", "seven"]),
    ("name_other", {"answer": "fruit:lemon"}, ["Banana.", "I would say a mango", "Apple. Lemon."],
     ["Lemon.", "Lemon. Apple.", "A dog.", ""]),
])
def test_score_crafted(name, example, right, wrong):
    task = get_task(name)
    assert [task.score(c, example) for c in right] == [1.0] * len(right)
    assert [task.score(c, example) for c in wrong] == [0.0] * len(wrong)


def test_name_other_teachers_are_correct_and_many():
    rows = {t: list(get_task("name_other", teacher=t).load("eval")) for t in ("easy", "hard", "uniform")}
    task = get_task("name_other")
    for t, rs in rows.items():
        assert all(task.score(r["target"], r) == 1.0 and len(task.correct_answers(r)) >= 14 for r in rs), t
    assert rows["easy"][0]["prompt"] == rows["hard"][0]["prompt"]
    assert sum(a["target"] != b["target"] for a, b in zip(rows["easy"], rows["hard"])) == 20


@pytest.mark.parametrize("name", ["say_word", "capital_city", "add_digits", "subtract_digits", "name_other"])
def test_eval_disjoint_from_train_and_targets_score(name):
    task = get_task(name)
    ev, tr = task.load("eval"), task.load("train")
    assert len(set(ev["prompt"])) == len(ev) == 20 and not set(ev["prompt"]) & set(tr["prompt"])
    assert all(task.score(r["target"], r) == 1.0 for r in ev)
