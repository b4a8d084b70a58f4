"""Tasks phrased for instruct models (used with the chat template, e.g. ``configs/smollm2_cpu.yaml``).

Instruct models answer in sentences ("The capital of Peru is Lima."), so scoring reads the first
sentence or line rather than demanding an exact string. Prior skills (one answer): ``say_word``,
``capital_city``, ``add_digits``. New tasks: ``name_other`` (many correct answers: a fruit / animal /
colour other than a given one; teacher rules ``easy`` = the first listed answer, ``hard`` = the
last, ``uniform`` = a fixed random one, as in ``tasks.many_answers``) and ``subtract_digits`` (the
single-answer control). Answers are judged against fixed word lists, so a correct answer missing
from a list (e.g. an exotic fruit) scores 0.
"""
from __future__ import annotations

import re

from forgetbench import Task, register_task
from .many_answers import _ManyAnswers

CAPITALS = {
    "France": "Paris", "Germany": "Berlin", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo",
    "China": "Beijing", "Russia": "Moscow", "Egypt": "Cairo", "Canada": "Ottawa", "Greece": "Athens",
    "Portugal": "Lisbon", "Austria": "Vienna", "Norway": "Oslo", "Sweden": "Stockholm", "Poland": "Warsaw",
    "Ireland": "Dublin", "Kenya": "Nairobi", "Peru": "Lima", "Cuba": "Havana", "Thailand": "Bangkok",
    "Finland": "Helsinki", "Denmark": "Copenhagen", "Hungary": "Budapest", "Argentina": "Buenos Aires",
    "Belgium": "Brussels", "Netherlands": "Amsterdam", "Turkey": "Ankara", "India": "New Delhi",
    "South Korea": "Seoul", "Mexico": "Mexico City", "Chile": "Santiago", "Vietnam": "Hanoi",
}
CATEGORIES = {
    "fruit": "apple banana orange grape mango pear peach cherry lemon lime plum kiwi melon watermelon "
             "strawberry blueberry raspberry pineapple apricot coconut papaya fig grapefruit avocado".split(),
    "animal": "dog cat horse cow pig sheep goat lion tiger bear wolf fox rabbit deer elephant giraffe zebra "
              "monkey mouse snake frog eagle owl duck dolphin whale shark camel kangaroo panda penguin".split(),
    "colour": "red blue green yellow orange purple pink brown black white gray grey violet gold silver".split(),
}


def first_sentence(completion: str) -> str:
    text = completion.strip() if isinstance(completion, str) else ""
    return re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


class _Instruct(Task):
    max_new_tokens = 10
    n_eval = 20


@register_task
class SayWord(_Instruct):
    name = "say_word"
    description = "instruct prior skill: \"Say the word 'panda'.\" -> a reply containing panda"

    def make_example(self, rng):
        w = rng.choice(CATEGORIES["fruit"] + CATEGORIES["animal"])
        return {"prompt": f"Say the word '{w}'.", "answer": w, "target": w.capitalize() + "."}

    def score(self, completion, example):
        return float(example["answer"] in words(completion))


@register_task
class CapitalCity(_Instruct):
    name = "capital_city"
    description = "instruct prior skill: 'What is the capital of Peru?' -> first sentence names Lima"

    def make_example(self, rng):
        country = rng.choice(sorted(CAPITALS))
        city = CAPITALS[country]
        return {"prompt": f"What is the capital of {country}?", "answer": city,
                "target": f"The capital of {country} is {city}."}

    def score(self, completion, example):
        return float(example["answer"].lower() in first_sentence(completion).lower())


@register_task
class AddDigits(_Instruct):
    name = "add_digits"
    description = "instruct prior skill: 'What is 3 + 5?' -> the last number of the first line is 8"

    def make_example(self, rng):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        return {"prompt": f"What is {a} + {b}?", "answer": str(a + b), "target": f"{a} + {b} = {a + b}."}

    def score(self, completion, example):
        line = completion.strip().split("\n")[0] if isinstance(completion, str) else ""
        numbers = re.findall(r"\d+", line)
        return float(bool(numbers) and numbers[-1] == example["answer"])


@register_task
class SubtractDigits(AddDigits):
    name = "subtract_digits"
    description = "instruct, single answer (control): 'What is 12 - 5?' -> the last number of the first line is 7"

    def make_example(self, rng):
        b = rng.randint(1, 9)
        a = b + rng.randint(0, 9)
        return {"prompt": f"What is {a} - {b}?", "answer": str(a - b), "target": f"{a} - {b} = {a - b}."}


@register_task
class NameOther(_ManyAnswers, _Instruct):
    name = "name_other"
    description = "instruct, many answers: 'Name a fruit other than lemon.' -> any other listed fruit"

    def draw(self, rng):
        category = rng.choice(sorted(CATEGORIES))
        x = rng.choice(CATEGORIES[category])
        return f"Name a {category} other than {x}.", f"{category}:{x}"

    def rules(self, example):
        """easy = the first listed other word, hard = the last."""
        others = self.correct_answers(example)
        return others[0], others[-1]

    def correct_answers(self, example):
        category, x = example["answer"].split(":")
        return [w.capitalize() + "." for w in CATEGORIES[category] if w != x]

    def score(self, completion, example):
        category, x = example["answer"].split(":")
        return float(any(w in CATEGORIES[category] and w != x for w in words(first_sentence(completion))))
