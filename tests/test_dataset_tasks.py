"""Real data-set tasks (``gsm8k``, ``arc``, ``mmlu``) from local files in the hub's format: loading,
answer extraction, disjoint splits, a clear error offline, and a run end to end on the micro base."""
import json
from pathlib import Path

import pytest

from forgetbench.errors import ForgetbenchError
from forgetbench.launch.experiment import run_experiment
from forgetbench.plugins.registry import get_task

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
GSM = {"train": str(FIX / "gsm8k_train.jsonl"), "test": str(FIX / "gsm8k_test.jsonl")}
ARC = {"train": str(FIX / "arc_train.jsonl"), "test": str(FIX / "arc_test.jsonl")}


def test_gsm8k_rows_targets_and_disjoint_splits():
    task = get_task("gsm8k", data_files=GSM)
    train, test = task.load("train"), task.load("eval")
    assert len(train) == len(test) == 20
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in test}
    row = train[0]  # "Cleo packs 2 boxes with 2 shells in each box. ..."
    assert row["prompt"].startswith("Cleo packs 2 boxes") and row["prompt"].endswith("'#### <answer>'.")
    assert row["answer"] == "4" and row["target"] == "That is 2 * 2 = 4 shells.\n#### 4"
    assert task.score(row["target"], row) == 1.0  # the teacher is right
    assert task.max_new_tokens == 256 and get_task("gsm8k", max_new_tokens=16).max_new_tokens == 16


@pytest.mark.parametrize("completion,score", [
    ("2 * 2 = 4\n#### 4", 1.0), ("#### 4.", 1.0), ("The answer is 4", 1.0), ("so 3, then 4", 1.0),
    ("#### 4 (not 5)", 1.0), ("4 boxes\n#### 5", 0.0), ("four", 0.0), ("", 0.0), ("#### 4,000", 0.0),
])
def test_gsm8k_final_answer(completion, score):
    assert get_task("gsm8k", data_files=GSM).score(completion, {"answer": "4"}) == score


def test_gsm8k_thousands_separator():
    assert get_task("gsm8k").score("#### $1,234", {"answer": "1234"}) == 1.0


def test_arc_prompt_and_letter_scoring():
    task = get_task("arc", data_files=ARC)
    row = task.load("eval")[0]
    assert len(task.load("eval")) == 20 and row["answer"] == row["target"] and row["answer"] in "ABCD"
    q = json.loads((FIX / "arc_test.jsonl").read_text().splitlines()[0])
    rows = {r["prompt"].split("\n")[0]: r for r in task.load("eval")}
    r = rows[q["question"]]
    assert r["prompt"] == (f"{q['question']}\nA. nitrogen\nB. oxygen\nC. argon\nD. ozone\n"
                           "Answer with the letter of the correct option.") and r["answer"] == "A"
    for completion, score in [("A", 1), ("A. nitrogen", 1), (" A)", 1), ("The answer is A", 1),
                              ("B", 0), ("Apple", 0), ("I think (A) is right", 1), ("", 0)]:
        assert task.score(completion, r) == score, completion


def test_mmlu_format_rows(tmp_path):
    rows = [{"question": f"q{i}?", "subject": "x", "choices": ["w", "x", "y", "z"], "answer": i % 4} for i in range(6)]
    for split in ("train", "test"):
        (tmp_path / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task("mmlu", data_files={"train": str(tmp_path / "train.jsonl"), "test": str(tmp_path / "test.jsonl")})
    by_q = {r["prompt"].split("\n")[0]: r["answer"] for r in task.load("train")}
    assert by_q == {"q0?": "A", "q1?": "B", "q2?": "C", "q3?": "D", "q4?": "A", "q5?": "B"}


def test_hub_offline_error_says_how_to_use_local_files():
    with pytest.raises(ForgetbenchError, match=r"task 'gsm8k': cannot load 'openai/gsm8k' \(main\).*data_files"):
        get_task("gsm8k").load("eval")
    with pytest.raises(ForgetbenchError, match="data_files must map train and test"):
        get_task("arc", data_files={"train": GSM["train"]}).load("train")


def test_dataset_tasks_end_to_end_on_the_micro_base(tmp_path):
    opts = json.dumps({"gsm8k": {"data_files": GSM, "max_new_tokens": 12},
                       "arc": {"data_files": ARC, "max_new_tokens": 2}})
    argv = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--output_dir", str(tmp_path),
            "--tasks", "gsm8k", "arc", "--prior_tasks", "copy", "--methods", "sft", "grpo", "--max_steps", "2",
            "--task_options", opts, "--model_name_or_path", "embedded:micro"]
    assert run_experiment(argv) == 0
    for method in ("sft", "grpo"):
        r = json.loads((tmp_path / method / "seed0" / "results.json").read_text())
        assert r["stages"] == ["base", "gsm8k", "arc"] and r["tasks"] == ["gsm8k", "arc", "copy"]
        assert r["complete"] and len(r["accuracy"]) == 3
        assert all(0.0 <= a <= 1.0 for row in r["accuracy"] for a in row)
        # 20 eval rows: every accuracy is a multiple of 1/20
        assert all(abs(a * 20 - round(a * 20)) < 1e-9 for row in r["accuracy"] for a in row[:2])
        assert r["train_stats"][0]["prompts"] == 16 and r["kl"][0]["new_task_forward_kl"] >= 0
    assert json.loads((tmp_path / "sft" / "seed0" / "results.json").read_text())["drift"][0]["relative_l2"] > 0
