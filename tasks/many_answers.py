"""New tasks that admit many correct answers. Each offers teacher rules for its SFT target:
``easy`` (a canonical answer), ``hard`` (a correct answer that needs more computation) and
``uniform`` (one correct answer drawn uniformly, fixed per example). ``teacher_rules(example)`` gives the
easy and the hard target of an example (the run-level ``teacher_mix`` draws between them)."""
from __future__ import annotations

from forgetbench import Task, register_task
from ._parse import parse_int, parse_sum

TEACHERS = ("easy", "hard", "uniform")


class _ManyAnswers(Task):
    options = {"teacher": "easy"}

    def __init__(self, **options):
        super().__init__(**options)
        if self.opts["teacher"] not in TEACHERS:
            from forgetbench.errors import ForgetbenchError
            raise ForgetbenchError(f"task {self.name!r}: teacher must be one of {TEACHERS}, "
                                   f"got {self.opts['teacher']!r}")

    def teacher(self, answers: list[str], easy: str, hard: str, rng) -> str:
        return {"easy": easy, "hard": hard}.get(self.opts["teacher"]) or rng.choice(answers)

    def teacher_rules(self, example) -> dict[str, str]:
        """``{"easy": …, "hard": …}``: the example's target under each rule (from its answer: ``rules``)."""
        return dict(zip(("easy", "hard"), self.rules(example)))

    def make_example(self, rng):
        prompt, answer = self.draw(rng)
        ex = {"prompt": prompt, "answer": answer}
        easy, hard = self.rules(ex)
        ex["target"] = self.teacher(self.correct_answers(ex), easy, hard, rng)
        return ex


def even_rules(a: int, b: int) -> tuple[int, int]:
    """The teacher rules of an even number strictly between a and b: easy = the smallest even number
    above a, hard = the even number nearest the middle (the next one up if that is not above a)."""
    mid = (a + b) // 2 - (a + b) // 2 % 2
    return a + 1 + (a + 1) % 2, mid if mid > a else mid + 2


@register_task
class EvenBetween(_ManyAnswers):
    name = "even_between"
    description = "new, many answers: an even number strictly between a and b, b - a >= 11 (ev:23-41: -> 24 ... 40)"
    max_new_tokens = 4

    def draw(self, rng):
        # b - a >= 11: every interval holds a multiple of ten, so the shortcut an RL learner finds
        # ("the next round number") is a correct answer, not a trap for 10% of prompts (README).
        a = rng.randint(10, 79)
        b = a + rng.randint(11, 20)
        return f"ev:{a}-{b}:", f"{a},{b}"

    def rules(self, example):
        return tuple(map(str, even_rules(*map(int, example["answer"].split(",")))))

    def correct_share(self, example):
        """Pretraining rows for intervals starting at a <= 39 are right 70% of the time, the rest 30%:
        a base that knows part of the task (greedy ~0.4) and can sample a right answer everywhere. A single
        share (0.4) left greedy accuracy at the mercy of the replica: 0.00-0.09 (README)."""
        return 0.7 if int(example["answer"].split(",")[0]) <= 39 else 0.3

    def pretraining_correct(self, example, rng):
        """The smallest even number above a (the easy teacher): one natural answer, not a spread."""
        a = int(example["answer"].split(",")[0])
        return str(a + 1 + (a + 1) % 2)

    def distractor(self, example):
        # the smallest odd number in the interval: never a multiple of ten, so it cannot meet an RL
        # learner's round-number answer (the bound b as distractor did, on one replica: README)
        a = int(example["answer"].split(",")[0])
        return str(a + 1 if (a + 1) % 2 else a + 2)

    def correct_answers(self, example):
        a, b = map(int, example["answer"].split(","))
        return [str(x) for x in range(a + 1, b) if x % 2 == 0]

    def score(self, completion, example):
        a, b = map(int, example["answer"].split(","))
        x = parse_int(completion)
        return float(x is not None and a < x < b and x % 2 == 0)


@register_task
class SumTo(_ManyAnswers):
    name = "sum_to"
    description = ("new, many answers: two positive numbers summing to n, 11 <= n <= 199, n not a multiple "
                   "of ten (sm:57: -> 50+7, 28+29, 1+56, ...)")
    max_new_tokens = 8
    n_eval = 50

    def draw(self, rng):
        n = rng.choice([n for n in range(11, 200) if n % 10])
        return f"sm:{n}:", str(n)

    def rules(self, example):
        """easy = the decimal split (tens+units: no arithmetic), hard = the halves."""
        n = int(example["answer"])
        return f"{n - n % 10}+{n % 10}", f"{n // 2}+{n - n // 2}"

    def correct_answers(self, example):
        n = int(example["answer"])
        return [f"{a}+{n - a}" for a in range(1, n)]

    pretraining_correct_share = 0.65

    def distractor(self, example):
        return f"0+{example['answer']}"  # zero is not positive

    def pretraining_correct(self, example, rng):
        """One of five natural decompositions, uniformly: the decimal split both ways (no arithmetic),
        the halves, 1 + (n-1) and (n-1) + 1. Uniform over all n-1 answers left the base at 0.04-0.1
        sampled accuracy, too little spread for GRPO to learn from (README)."""
        n = int(example["answer"])
        t, u = n - n % 10, n % 10
        return rng.choice([f"{t}+{u}", f"{u}+{t}", f"{n // 2}+{n - n // 2}", f"1+{n - 1}", f"{n - 1}+1"])

    def score(self, completion, example):
        ab = parse_sum(completion)
        return float(ab is not None and min(ab) >= 1 and sum(ab) == int(example["answer"]))


@register_task
class MultipleBelow(_ManyAnswers):
    name = "multiple"
    description = "new, many answers: a positive multiple of k below n (ml:7<60: -> 7, 14, ..., 56)"
    max_new_tokens = 4

    def draw(self, rng):
        k = rng.randint(3, 9)
        n = rng.randint(3 * k + 1, 99)
        return f"ml:{k}<{n}:", f"{k},{n}"

    def rules(self, example):
        """easy = k itself, hard = the largest multiple of k below n."""
        k, n = map(int, example["answer"].split(","))
        return str(k), str((n - 1) // k * k)

    def correct_answers(self, example):
        k, n = map(int, example["answer"].split(","))
        return [str(x) for x in range(k, n, k)]

    def correct_share(self, example):
        """Right 70% of the time for k <= 4, 25% for k >= 5 (as even_between). Uniform right answers let
        GRPO collapse onto 4k on one replica, wrong wherever n <= 4k (0.915); k <= 5 at 0.7 / 0.3 put one
        replica's greedy accuracy at 0.64, above the world's 0.6 ceiling (README)."""
        return 0.7 if int(example["answer"].split(",")[0]) <= 4 else 0.25

    def pretraining_correct(self, example, rng):
        return example["answer"].split(",")[0]  # k itself: correct for every prompt

    def distractor(self, example):
        return example["answer"].split(",")[1]  # n: a multiple "up to" n, not below it

    def score(self, completion, example):
        k, n = map(int, example["answer"].split(","))
        x = parse_int(completion)
        return float(x is not None and 0 < x < n and x % k == 0)
