"""Instruct new tasks with many correct answers, each with the teacher rules of ``tasks.many_answers``
(``easy`` / ``hard`` / ``uniform``, set per task in ``task_options``):

* ``name_other``: "Name a vegetable other than carrot." -> any other member of the category
  (8 categories of 15-31 words, 3 phrasings; ``easy`` = the first listed other member, ``hard`` = the last);
* ``name_even``: "Name an even number between 23 and 41." (10 <= a <= 79, 11 <= b - a <= 20) -> any
  even x with a < x < b, read as the first number of the first sentence that is not a or b
  ("An even number between 23 and 41 is 30." -> 30; digits only); ``easy`` = the smallest (a + 1 or
  a + 2), ``hard`` = the one nearest the middle (as ``even_between``).
"""
from __future__ import annotations

import re

from forgetbench import register_task
from ._instruct_words import CATEGORIES
from .instruct import _Instruct, first_sentence, words
from .many_answers import _ManyAnswers, even_rules

PHRASINGS = ("Name a {c} other than {x}.", "Name one {c} that is not {x}.", "Give an example of a {c} other than {x}.")


def article(category: str, phrasing: str) -> str:
    """'a' -> 'an' before a vowel ('an animal')."""
    return phrasing.replace("a {c}", "an {c}") if category[0] in "aeiou" else phrasing


@register_task
class NameOther(_ManyAnswers, _Instruct):
    name = "name_other"
    description = "instruct, many answers: 'Name a fruit other than lemon.' -> any other listed fruit (8 categories)"

    def draw(self, rng):
        category = rng.choice(sorted(CATEGORIES))
        x = rng.choice(CATEGORIES[category])
        return article(category, rng.choice(PHRASINGS)).format(c=category, x=x), f"{category}:{x}"

    def rules(self, example):
        """easy = the first listed other member, hard = the last."""
        others = self.correct_answers(example)
        return others[0], others[-1]

    def correct_answers(self, example):
        category, x = example["answer"].split(":")
        return [w.capitalize() + "." for w in CATEGORIES[category] if w != x]

    def score(self, completion, example):
        category, x = example["answer"].split(":")
        return float(any(w in CATEGORIES[category] and w != x for w in words(first_sentence(completion))))


@register_task
class NameEven(_ManyAnswers, _Instruct):
    name = "name_even"
    description = "instruct, many answers: 'Name an even number between 23 and 41.' -> 24, 26, ..., 40"
    max_new_tokens = 16
    version = 1

    def draw(self, rng):
        a = rng.randint(10, 79)
        b = a + rng.randint(11, 20)
        return f"Name an even number between {a} and {b}.", f"{a},{b}"

    def rules(self, example):
        """``even_between``'s rules, as a sentence's number: "24." / "32."."""
        return tuple(f"{x}." for x in even_rules(*map(int, example["answer"].split(","))))

    def correct_answers(self, example):
        a, b = map(int, example["answer"].split(","))
        return [f"{x}." for x in range(a + 1, b) if x % 2 == 0]

    def score(self, completion, example):
        a, b = map(int, example["answer"].split(","))
        said = [int(n) for n in re.findall(r"\d+", first_sentence(completion)) if int(n) not in (a, b)]
        return float(bool(said) and a < said[0] < b and said[0] % 2 == 0)
