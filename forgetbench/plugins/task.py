"""The task plug-in base class: data plus judgement.

A task makes examples ``{"prompt", "answer", "target"}`` (``target`` is the SFT teacher's
completion) and scores completions in [0, 1]; the GRPO reward defaults to ``score``. Real data sets
override ``load(split)`` and return a ``datasets.Dataset`` with those columns.
"""
from __future__ import annotations

import math
import random
from typing import Any, ClassVar

from forgetbench.errors import ForgetbenchError

REQUIRED_KEYS = ("prompt", "answer", "target")


class Task:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    max_new_tokens: ClassVar[int] = 8
    #: Declared options and their defaults, e.g. ``{"teacher": "easy"}``; set per task in the config.
    options: ClassVar[dict[str, Any]] = {}
    n_train: ClassVar[int] = 4000
    n_eval: ClassVar[int] = 200
    #: Bump when the generator or the scoring changes what the task measures: each run's ``results.json``
    #: records it (``task_versions``) and a stored run of an older version is not resumed.
    version: ClassVar[int] = 1

    def __init__(self, **options: Any):
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ForgetbenchError(
                f"task {self.name!r}: unknown option(s) {unknown}; it declares {sorted(self.options)}")
        self.opts = {**self.options, **options}

    # --- what a plug-in writes -------------------------------------------------------------
    def make_example(self, rng: random.Random) -> dict[str, Any]:
        raise NotImplementedError(f"task {self.name!r} must define make_example(rng) or load(split)")

    def score(self, completion: str, example: dict[str, Any]) -> float:
        raise NotImplementedError(f"task {self.name!r} must define score(completion, example)")

    def teacher_rules(self, example: dict[str, Any]) -> dict[str, str] | None:
        """``{"easy": …, "hard": …}``: the example's SFT target under an easy and a hard teacher rule, for
        tasks that have both (``teacher_mix`` draws between them); None (the default) for the others."""
        return None

    def correct_answers(self, example: dict[str, Any]) -> list[str]:
        """Every correct completion, when the task can list them (used to pretrain the embedded base
        on answers drawn uniformly among the correct ones). Defaults to the single ``answer``."""
        return [str(example["answer"])]

    #: Share of the embedded base's pretraining rows for this (new) task whose completion is correct;
    #: the rest carry ``distractor(example)``, a plausible mistake.
    pretraining_correct_share: ClassVar[float] = 1.0

    def pretraining_correct(self, example: dict[str, Any], rng: random.Random) -> str:
        """A correct pretraining completion: by default one of ``correct_answers`` drawn uniformly."""
        return rng.choice(self.correct_answers(example))

    def correct_share(self, example: dict[str, Any]) -> float:
        """The share of correct pretraining completions for this example (default: the class's
        ``pretraining_correct_share``). A share that differs between parts of the prompt space gives the
        base a partial competence that does not hinge on one knife-edge mixture (README)."""
        return self.pretraining_correct_share

    def distractor(self, example: dict[str, Any]) -> str:
        raise NotImplementedError(f"task {self.name!r}: pretraining_correct_share < 1 needs distractor()")

    def pretraining_answer(self, example: dict[str, Any], rng: random.Random) -> str:
        """The completion of a pretraining row of the embedded base when this task is a new task:
        with probability ``correct_share(example)`` a ``pretraining_correct`` answer, else the
        ``distractor``. A skill learned well but mixed with a mistake gives the base a stable partial
        competence; a small exposure to right answers alone flipped between replicas (README)."""
        share = self.correct_share(example)
        if share < 1.0 and rng.random() >= share:
            return self.distractor(example)
        return self.pretraining_correct(example, rng)

    def reward(self, completion: str, example: dict[str, Any]) -> float:
        """GRPO reward; defaults to ``score``."""
        return self.score(completion, example)

    # --- data ---------------------------------------------------------------------------------
    def load(self, split: str, seed: int = 0):
        """``datasets.Dataset`` of examples for ``split`` ("train" or "eval").

        The eval set is fixed by ``seed`` (``n_eval`` distinct prompts); training prompts are drawn
        from the same generator but never repeat an eval prompt.
        """
        from datasets import Dataset

        eval_rows = self._unique_examples(random.Random(f"{self.name}/eval/{seed}"), self.n_eval, set())
        if split == "eval":
            rows = eval_rows
        elif split == "train":
            banned = {r["prompt"] for r in eval_rows}
            rows = self._unique_examples(random.Random(f"{self.name}/train/{seed}"), self.n_train,
                                         banned, allow_repeats=True)
        else:
            raise ForgetbenchError(f"task {self.name!r}: unknown split {split!r} (use 'train' or 'eval')")
        return Dataset.from_list(rows)

    def _unique_examples(self, rng, n, banned, allow_repeats=False):
        rows, seen, tries = [], set(banned), 0
        while len(rows) < n and tries < 50 * n:
            tries += 1
            ex = self.checked_example(rng)
            if ex["prompt"] in banned or (not allow_repeats and ex["prompt"] in seen):
                continue
            seen.add(ex["prompt"])
            rows.append(ex)
        if not rows or (not allow_repeats and len(rows) < n):
            raise ForgetbenchError(f"task {self.name!r}: could make only {len(rows)} of {n} distinct "
                                   f"examples (lower n_eval or widen the prompt space)")
        return rows

    def self_check(self) -> None:
        """Fail fast, before any model is loaded, on a broken plug-in: one made example must have the
        required keys and its teacher target must get a ``score`` and a ``reward`` in [0, 1]. (Tasks
        that override ``load`` are checked when their data is loaded.)"""
        if type(self).load is not Task.load:
            return
        ex = self.checked_example(random.Random(f"{self.name}/self_check"))
        self.checked_score(str(ex["target"]), ex)
        self.checked_score(str(ex["target"]), ex, fn="reward")

    def checked_example(self, rng: random.Random) -> dict[str, Any]:
        try:
            ex = self.make_example(rng)
        except ForgetbenchError:
            raise
        except Exception as e:  # a plug-in bug: name it
            raise ForgetbenchError(f"task {self.name!r}: make_example raised {type(e).__name__}: {e}") from e
        missing = [k for k in REQUIRED_KEYS if not isinstance(ex, dict) or k not in ex]
        if missing:
            raise ForgetbenchError(f"task {self.name!r}: make_example returned no {missing} key(s); "
                                   f"it must return a dict with {list(REQUIRED_KEYS)}")
        return dict(ex)

    def checked_score(self, completion: str, example: dict[str, Any], fn: str = "score") -> float:
        """Call ``score`` (or ``reward``) and insist on a finite number in [0, 1]."""
        try:
            value = getattr(self, fn)(completion, example)
        except Exception as e:
            raise ForgetbenchError(
                f"task {self.name!r}: {fn}() raised {type(e).__name__}: {e} (completion {completion!r})") from e
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ForgetbenchError(f"task {self.name!r}: {fn}() returned {value!r} "
                                   f"({type(value).__name__}), not a number in [0, 1]")
        value = float(value)
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ForgetbenchError(f"task {self.name!r}: {fn}() returned {value}, outside [0, 1] "
                                   f"(completion {completion!r})")
        return value
