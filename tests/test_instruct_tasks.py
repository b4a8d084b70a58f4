"""Instruct-model tasks (tasks/instruct.py, tasks/instruct_many.py): sentence-tolerant scoring on crafted
replies (hand-checked), teachers, 150 distinct eval prompts disjoint from training, determinism by seed."""
import pytest

from forgetbench.plugins.registry import get_task

INSTRUCT = ["say_word", "capital_city", "add_digits", "opposite_word", "subtract_digits", "name_other", "name_even"]


@pytest.mark.parametrize("name,example,right,wrong", [
    ("say_word", {"answer": "panda"}, ["Panda.", "The word 'panda' is nice", "panda"], ["pandas", "", "bear"]),
    ("capital_city", {"answer": "Lima"}, ["The capital of Peru is Lima.", "Lima", "lima, Peru"],
     ["Cusco. Lima is not", "Peru", "Limassol.", ""]),
    ("capital_city", {"answer": "Bogota"}, ["The capital of Colombia is Bogotá."], ["Colombia is in South America."]),
    ("capital_city", {"answer": "Kyiv"}, ["Kiev.", "The capital of Ukraine is Kyiv."], ["Lviv."]),
    ("capital_city", {"answer": "Tunis"}, ["Tunis is the capital."], ["Tunisia.", "The capital of Tunisia is Sfax."]),
    ("capital_city", {"answer": "N'Djamena"}, ["The capital of Chad is N\u2019Djamena.", "Ndjamena"], ["Djamena."]),
    ("capital_city", {"answer": "Port-au-Prince"}, ["Port au Prince.", "It is Port-au-Prince."], ["Prince."]),
    ("add_digits", {"answer": "8"}, ["3 + 5 = 8", "The answer is 8.", "8"], ["8 is wrong: 9", "3 + 5", "3 + 5 = 9\n8", ""]),
    ("add_digits", {"answer": "18"}, ["13 + 5 = 18."], ["13 + 5 = 8", "18 + 1 = 19"]),
    ("subtract_digits", {"answer": "7"}, ["12 - 5 = 7", "7."], ["12 - 5 = 12", "seven"]),
    ("opposite_word", {"answer": "hot"}, ["The opposite of hot is cold.", "Cold", "Cold? Surely."],
     ["The opposite of hot is warm.", "Hot.", "It is chilly. Cold.", ""]),
    ("opposite_word", {"answer": "light"}, ["Dark.", "The opposite of light is heavy."], ["Bright.", "Light."]),
    ("name_other", {"answer": "fruit:lemon"}, ["Banana.", "I would say a mango", "Apple. Lemon."],
     ["Lemon.", "Lemon. Apple.", "A dog.", ""]),
    ("name_other", {"answer": "vegetable:carrot"}, ["Potato.", "I would pick a turnip"], ["Carrot.", "An apple.", "Kale."]),
    ("name_other", {"answer": "musical instrument:piano"}, ["The violin is a musical instrument."],
     ["The piano is a musical instrument.", "A musical instrument."]),
    ("name_even", {"answer": "23,41"}, ["An even number between 23 and 41 is 30.", "30 is an even number between 23 and 41.",
                                        "24", "Between 23 and 41: 40."],
     ["The answer is 19.", "23", "41.", "42", "31", "An even number is 2.", "The even numbers are 22 and 24.",
      "It is 23. Then 30.", ""]),
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
    assert sum(a["target"] != b["target"] for a, b in zip(rows["easy"], rows["hard"])) == 150


class _Fixed:
    """An rng whose randint returns the given values in order."""
    def __init__(self, *values):
        self.values = list(values)

    def randint(self, lo, hi):
        v = self.values.pop(0)
        assert lo <= v <= hi
        return v


@pytest.mark.parametrize("a,gap,easy,hard,n_right", [(23, 18, "24.", "32.", 9), (24, 13, "26.", "30.", 6),
                                                     (79, 11, "80.", "84.", 5)])
def test_name_even_teachers(a, gap, easy, hard, n_right):
    # 23..41: evens 24..40 (9), middle 32; 24..37: 26..36 (6), middle 30.5 -> 30; 79..90: 80..88 (5), middle 84
    task = get_task("name_even")
    prompt, answer = task.draw(_Fixed(a, gap))
    e, h = task.rules({"prompt": prompt, "answer": answer})
    assert task.teacher_rules({"answer": answer}) == {"easy": easy, "hard": hard}
    assert (prompt, answer, e, h) == (f"Name an even number between {a} and {a + gap}.", f"{a},{a + gap}", easy, hard)
    assert len(get_task("name_even").correct_answers({"answer": answer})) == n_right


@pytest.mark.parametrize("name", INSTRUCT)
def test_eval_150_distinct_disjoint_from_train_and_targets_score(name):
    task = get_task(name)
    ev, tr = task.load("eval"), task.load("train")
    assert len(set(ev["prompt"])) == len(ev) == 150 and not set(ev["prompt"]) & set(tr["prompt"])
    assert all(task.score(r["target"], r) == 1.0 for r in ev)


@pytest.mark.parametrize("name", INSTRUCT)
def test_eval_set_fixed_by_seed(name):
    task = get_task(name)
    assert list(task.load("eval", seed=0)) == list(task.load("eval", seed=0))
    assert task.load("eval", seed=0)["prompt"] != task.load("eval", seed=1)["prompt"]


def test_versions_bumped_with_the_eval_sets():
    assert {n: get_task(n).version for n in INSTRUCT} == {
        "say_word": 2, "capital_city": 2, "add_digits": 2, "opposite_word": 1, "subtract_digits": 2,
        "name_other": 2, "name_even": 1}
