"""Multiple-choice questions with a letter answer: ARC (``allenai/ai2_arc``, ``ARC-Easy`` by default;
``ARC-Challenge`` via ``name``) and MMLU (``cais/mmlu``, config ``all``).

Row formats: ARC ``{"question", "choices": {"text": [...], "label": ["A", ...]}, "answerKey"}``;
MMLU ``{"question", "choices": [...], "answer": <index>}`` (labels A, B, C, ...). The prompt lists the
options as ``A. text`` lines and asks for the letter; answer = target = the correct letter.

Score = 1 when the completion's chosen letter is the answer: the first character when it is an
option label followed by a non-letter (``B``, ``B.``, ``B) ...``), else the label in "answer is X",
else the first standalone option label in the text.
"""
from __future__ import annotations

import re

from forgetbench import register_task
from ._hub import DATA_OPTIONS, DatasetTask

INSTRUCTION = "Answer with the letter of the correct option."


def normalise(row: dict) -> tuple[str, list[str], list[str], str]:
    """(question, labels, texts, answer letter) of an ARC- or MMLU-format row."""
    choices = row["choices"]
    if isinstance(choices, dict):  # ARC
        labels, texts, key = list(choices["label"]), list(choices["text"]), str(row["answerKey"])
        if key.isdigit() and labels and labels[0].isdigit():  # a few ARC rows use 1-4: map to letters
            key, labels = "ABCDE"[labels.index(key)], list("ABCDE"[:len(labels)])
        return row["question"], labels, texts, key
    labels = [chr(ord("A") + i) for i in range(len(choices))]
    return row["question"], labels, list(choices), labels[int(row["answer"])]


def chosen_letter(completion: str, labels: list[str]) -> str | None:
    s = completion.strip() if isinstance(completion, str) else ""
    if s[:1] in labels and (len(s) == 1 or not s[1].isalpha()):
        return s[0]
    m = re.search(r"answer is:?\s*\(?([A-Z])\b", s)
    if m and m.group(1) in labels:
        return m.group(1)
    return next((c for c in re.findall(r"\b([A-Z])\b", s) if c in labels), None)


class _MultipleChoice(DatasetTask):
    max_new_tokens = 8

    def example(self, raw: dict) -> dict:
        q, labels, texts, key = normalise(raw)
        lines = "\n".join(f"{lab}. {t}" for lab, t in zip(labels, texts))
        return {"prompt": f"{q.strip()}\n{lines}\n{INSTRUCTION}", "answer": key, "target": key,
                "labels": "".join(labels)}

    def score(self, completion, example):
        labels = list(example.get("labels") or "ABCDE")
        return float(chosen_letter(completion, labels) == example["answer"])


@register_task
class ARC(_MultipleChoice):
    name = "arc"
    description = "data set: ARC science questions, letter answer (hub allenai/ai2_arc ARC-Easy or data_files)"
    options = {"path": "allenai/ai2_arc", "name": "ARC-Easy", "max_new_tokens": 8, **DATA_OPTIONS}


@register_task
class MMLU(_MultipleChoice):
    name = "mmlu"
    description = "data set: MMLU questions, letter answer (hub cais/mmlu 'all' or data_files)"
    options = {**DATA_OPTIONS, "path": "cais/mmlu", "name": "all", "max_new_tokens": 8,
               "train_split": "auxiliary_train"}
