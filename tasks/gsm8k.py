"""GSM8K-style grade-school maths word problems (``openai/gsm8k``, config ``main``).

Row format: ``{"question": str, "answer": "<worked solution>\\n#### <number>"}``. The prompt is the
question plus an instruction to end with ``#### <number>``; the SFT target is the reference solution
(calculator annotations ``<<48/2=24>>`` removed); the answer is the number after ``####``.

Score = 1 when the completion's final answer equals it: the number after the last ``####`` if there
is one, else the last number in the completion (commas, ``$`` and a trailing ``.`` ignored). Many
different worked solutions are correct, so it is a many-output task with a single final answer.
"""
from __future__ import annotations

import re

from forgetbench import register_task
from ._hub import DATA_OPTIONS, DatasetTask

_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_CALC = re.compile(r"<<[^>]*>>")
INSTRUCTION = "Solve the problem step by step and finish with a line '#### <answer>'."


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("$", "").rstrip("."))
    except ValueError:
        return None


def final_answer(completion: str) -> float | None:
    """The number after the last ``####``, else the last number in the text; None when there is none."""
    if not isinstance(completion, str):
        return None
    tail = completion.rsplit("####", 1)[1] if "####" in completion else completion
    found = _NUM.findall(tail)
    if not found:
        return None
    return _number(found[0] if "####" in completion else found[-1])


@register_task
class GSM8K(DatasetTask):
    name = "gsm8k"
    description = "data set: GSM8K maths word problems, answer after '####' (hub openai/gsm8k or data_files)"
    options = {"path": "openai/gsm8k", "name": "main", "max_new_tokens": 256, **DATA_OPTIONS}

    def example(self, raw: dict) -> dict:
        solution, _, answer = raw["answer"].rpartition("####")
        target = _CALC.sub("", solution).strip() + f"\n#### {answer.strip()}"
        return {"prompt": f"{raw['question'].strip()}\n{INSTRUCTION}", "answer": answer.strip().replace(",", ""),
                "target": target}

    def score(self, completion, example):
        got, want = final_answer(completion), _number(str(example["answer"]))
        return float(got is not None and want is not None and abs(got - want) < 1e-6)
