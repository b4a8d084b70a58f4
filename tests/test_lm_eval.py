"""lm-eval suites as old-task columns (``eval.lm_eval``): the shipped local tasks scored by lm-eval
agree with the suite's own scoring (generation) and with log-likelihoods computed by hand (multiple
choice); the columns enter old_task_decline and per_example; bad names and a missing vLLM exit 2;
two processes run lm-eval on the main one."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install -e '.[lm_eval]')")

from forgetbench.config.schema import LMEvalParams, load_config  # noqa: E402
from forgetbench.errors import ForgetbenchError  # noqa: E402
from forgetbench.llm.eval import lm_eval_suite  # noqa: E402
from forgetbench.run import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["--config", str(ROOT / "configs" / "smoke.yaml")]
GEN, MC = "forgetbench_prior_gen", "forgetbench_prior_mc"
LIMIT = 30  # 10 prompts of each of copy / reverse / add (the documents are interleaved)
# The micro base scores 0 on every prior skill (nothing to compare); the shipped tiny base knows them.
TINY = ["--model_name_or_path", "embedded:tiny"]
SUITE = ["--eval.lm_eval.tasks", GEN, MC, "--eval.lm_eval.limit", str(LIMIT)]


def docs(name):
    lines = (lm_eval_suite.SHIPPED_DIR / f"prior_skills_{name}.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines][:LIMIT]


@pytest.fixture(scope="module")
def tiny():
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path

    return load_model_and_tokenizer(resolve_model_path("embedded:tiny"))


@pytest.fixture(scope="module")
def suite_on_tiny(tiny):
    model, tok = tiny
    return lm_eval_suite.run_suite(model, tok, LMEvalParams(tasks=[GEN, MC], limit=LIMIT))


def test_generation_column_equals_the_suites_own_scoring(tiny, suite_on_tiny):
    from forgetbench.llm.eval.evaluate import evaluate_tasks
    from forgetbench.plugins.registry import get_task

    model, tok = tiny
    rows = docs("gen")
    assert [r["skill"] for r in rows[:3]] == ["copy", "reverse", "add"]
    own = {s: evaluate_tasks(model, tok, {s: (get_task(s), [r for r in rows if r["skill"] == s])})[s]["correct"]
           for s in ("copy", "reverse", "add")}
    pos = {s: 0 for s in own}
    expected = ""
    for r in rows:  # the suite's own per-example correctness, back in document order
        expected += own[r["skill"]][pos[r["skill"]]]
        pos[r["skill"]] += 1
    col = suite_on_tiny["lm_eval/" + GEN]
    assert col["metric"] == "exact_match,strip" and col["correct"] == expected
    assert col["accuracy"] == pytest.approx(expected.count("1") / LIMIT)
    assert "0" in expected and "1" in expected  # the check can fail both ways


@torch.no_grad()
def test_multiple_choice_column_equals_hand_computed_loglikelihoods(tiny, suite_on_tiny):
    """acc per document = 1 when sum_t log p(choice_t | BOS prompt choice_<t) is highest for the answer."""
    model, tok = tiny
    expected = ""
    for d in docs("mc"):
        scores = []
        for choice in d["choices"]:
            ids = tok(d["prompt"] + choice, return_tensors="pt")["input_ids"]
            n = len(tok(choice, add_special_tokens=False)["input_ids"])
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
            scores.append(sum(logp[i - 1, ids[0, i]].item() for i in range(ids.shape[1] - n, ids.shape[1])))
        expected += "1" if max(range(len(scores)), key=scores.__getitem__) == d["label"] else "0"
    col = suite_on_tiny["lm_eval/" + MC]
    assert col["metric"] == "acc,none" and col["correct"] == expected
    assert col["accuracy"] == pytest.approx(expected.count("1") / LIMIT) and "0" in expected


def test_suite_leaves_the_global_random_state_alone(tiny):
    import random

    model, tok = tiny
    torch.manual_seed(7)
    random.seed(7)
    before = torch.random.get_rng_state(), random.getstate()
    lm_eval_suite.run_suite(model, tok, LMEvalParams(tasks=[GEN], limit=3))
    assert torch.equal(torch.random.get_rng_state(), before[0]) and random.getstate() == before[1]


def test_columns_enter_old_task_decline_and_per_example(tmp_path, suite_on_tiny, tiny):
    from forgetbench.launch.experiment import run_experiment
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.measures.per_example import example_events

    out = tmp_path / "o"
    assert run_experiment(SMOKE + TINY + SUITE + ["--methods", "sft", "--max_stages", "1", "--output_dir",
                                                  str(out), "--keep_checkpoints"]) == 0
    r = json.loads((out / "sft" / "seed0" / "results.json").read_text())
    cols = ["lm_eval/" + GEN, "lm_eval/" + MC]
    assert r["tasks"] == ["sum_to", "even_between", "copy", "add", *cols]
    R = r["accuracy"]
    # row 0: the base, as lm-eval scored it directly
    assert [R[0][4], R[0][5]] == pytest.approx([suite_on_tiny[c]["accuracy"] for c in cols])
    # old tasks after stage 1 (sum_to): copy, add and both lm-eval columns (even_between is trained later)
    hand = sum(R[0][j] - R[1][j] for j in (2, 3, 4, 5)) / 4
    assert r["metrics"]["old_task_decline"][0] == pytest.approx(hand)
    assert r["metrics"]["prior_decline"][0] == pytest.approx(hand)
    for k in (0, 1):
        for j, c in enumerate(cols, 4):
            s = r["per_example"][k][c]
            assert len(s) == LIMIT and s.count("1") / LIMIT == pytest.approx(R[k][j])
    assert r["example_events"] == example_events(r["per_example"], r["stages"], r["tasks"], planned=r["config"]["tasks"])
    assert r["example_events"]["old_examples"] == [200 + 200 + 2 * LIMIT]
    # row 1 is the trained model's: lm-eval on the stage's checkpoint gives the same column
    model, tok = load_model_and_tokenizer(str(out / "sft" / "seed0" / "checkpoints" / "stage1"))
    again = lm_eval_suite.run_suite(model, tok, LMEvalParams(tasks=[GEN, MC], limit=LIMIT))
    assert [again[c]["accuracy"] for c in cols] == pytest.approx([R[1][4], R[1][5]])
    assert set(r["kl"][0]["old_task_forward_kl_per_task"]) == {"copy", "add"}  # KL on the suite's own prompts


def test_unknown_task_exits_2_with_close_matches_before_training(tmp_path, capsys):
    code = main(SMOKE + ["--output_dir", str(tmp_path / "o"), "--eval.lm_eval.tasks", "forgetbench_prior_gne"])
    err = capsys.readouterr().err
    assert code == 2 and "lm-eval knows no task 'forgetbench_prior_gne'" in err
    assert "close matches: forgetbench_prior_gen" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "sft").exists()  # nothing trained or evaluated


def test_perplexity_task_refused():
    with pytest.raises(ForgetbenchError, match="'wikitext' is a loglikelihood_rolling task"):
        lm_eval_suite.check(LMEvalParams(tasks=["wikitext"]))


def test_config_section_parsed_and_validated(tmp_path):
    cfg = load_config(SMOKE + SUITE + ["--eval.lm_eval.num_fewshot", "2", "--eval.lm_eval.backend", "vllm",
                                       "--eval.lm_eval.model_args", "{gpu_memory_utilization: 0.3}"])
    p = cfg.eval.lm_eval
    assert p.tasks == [GEN, MC] and p.limit == 30.0 and p.num_fewshot == 2 and p.batch_size == 32
    assert p.backend == "vllm" and p.model_args == {"gpu_memory_utilization": 0.3}
    for bad, msg in ((["--eval.lm_eval.backend", "vlm"], "backend must be hf or vllm"),
                     (["--eval.lm_eval.limit", "0"], "limit > 0"),
                     (["--eval.lm_eval.tasks", GEN, GEN], "names a task twice"),
                     (["--eval.lm_eval.task", GEN], r"did you mean --eval.lm_eval.tasks")):
        with pytest.raises(ForgetbenchError, match=msg):
            load_config(SMOKE + bad)
    yaml = tmp_path / "c.yaml"
    yaml.write_text("eval:\n  lm_eval: {tasks: [hellaswag], limit: lots}\n")
    with pytest.raises(ForgetbenchError, match=r"c.yaml'?:? line 2.*eval.lm_eval.limit"):
        load_config(["--config", str(yaml)])


def test_vllm_backend_arguments_and_missing_vllm(tmp_path, capsys):
    p = LMEvalParams(tasks=[GEN], backend="vllm", batch_size=16, model_args={"gpu_memory_utilization": 0.3})
    assert lm_eval_suite.vllm_model_args("/ck/stage2", p) == {
        "pretrained": "/ck/stage2", "tokenizer": "/ck/stage2", "batch_size": 16, "dtype": "auto",
        "gpu_memory_utilization": 0.3}
    import importlib.util
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed: the missing-vLLM error cannot be shown")
    code = main(SMOKE + SUITE + ["--output_dir", str(tmp_path), "--eval.lm_eval.backend", "vllm"])
    assert code == 2 and "eval.lm_eval.backend is vllm but vLLM is not installed" in capsys.readouterr().err


def test_two_processes_run_lm_eval_on_the_main_one(tmp_path, suite_on_tiny):
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           str(ROOT / "forgetbench" / "run.py"), *SMOKE, *TINY, *SUITE, "--output_dir", str(tmp_path),
           "--methods", "sft", "--max_stages", "1", "--verbose"]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads((tmp_path / "sft" / "seed0" / "results.json").read_text())
    assert r["world_size"] == 2 and r["complete"]
    # lm-eval wrapped the model once per evaluation (base, stage 1), on one process only
    assert p.stdout.count("assuming single-process") + p.stderr.count("assuming single-process") == 2
    cols = ["lm_eval/" + GEN, "lm_eval/" + MC]
    # the base row is what one process gets on the same model: every document, once, in order
    assert [r["per_example"][0][c] for c in cols] == [suite_on_tiny[c]["correct"] for c in cols]
    assert all(len(r["per_example"][1][c]) == LIMIT for c in cols)


def test_missing_lm_eval_names_the_install_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lm_eval" else real(name, *a))
    with pytest.raises(ForgetbenchError, match=r"lm-evaluation-harness is not installed; install it with: "
                                               r"pip install -e '\.\[lm_eval\]'"):
        lm_eval_suite.check(LMEvalParams(tasks=[GEN]))
    lm_eval_suite.check(LMEvalParams())  # no tasks: nothing is needed


def _fake_task(output_type, metrics, filters=None):
    from types import SimpleNamespace

    cfg = SimpleNamespace(metric_list=[{"metric": m} for m in metrics],
                          filter_list=[{"name": f} for f in filters] if filters else None)
    return SimpleNamespace(config=cfg, get_config=lambda key: output_type)


def test_main_metric_per_output_type_groups_and_continuous_scores():
    """Crafted lm-eval outputs: gsm8k-like (first filter), IFEval-like (no exact_match: first metric),
    an mmlu-like group (its aggregate; per_example = its tasks one after another) and an mc2-like task
    (continuous per-sample scores: a column without per_example)."""
    from types import SimpleNamespace

    gsm = _fake_task("generate_until", ["exact_match"], ["strict-match", "flexible-extract"])
    ife = _fake_task("generate_until", ["prompt_level_strict_acc", "inst_level_strict_acc"])
    mc2 = _fake_task("multiple_choice", ["acc"])
    sub_a, sub_b = _fake_task("multiple_choice", ["acc", "acc_norm"]), _fake_task("multiple_choice", ["acc"])
    assert lm_eval_suite.main_metric(gsm) == ("exact_match", "strict-match")
    assert lm_eval_suite.main_metric(ife) == ("prompt_level_strict_acc", "none")
    s = lambda i, f, **m: {"doc_id": i, "filter": f, **m}  # noqa: E731
    out = {"results": {"gsm": {"exact_match,strict-match": 0.5, "exact_match,flexible-extract": 1.0},
                       "ife": {"prompt_level_strict_acc,none": 1.0}, "mc2": {"acc,none": 0.6},
                       "grp": {"acc,none": 0.4}},
           "samples": {"gsm": [s(1, "flexible-extract", exact_match=1.0), s(1, "strict-match", exact_match=0.0),
                               s(0, "strict-match", exact_match=1.0), s(0, "flexible-extract", exact_match=1.0)],
                       "ife": [s(0, "none", prompt_level_strict_acc=True)],
                       "mc2": [s(0, "none", acc=0.8), s(1, "none", acc=0.4)],
                       "a": [s(1, "none", acc=0.0), s(0, "none", acc=1.0)],
                       "b": [s(0, "none", acc=0.0), s(1, "none", acc=0.0), s(2, "none", acc=1.0)]}}
    group = SimpleNamespace(get_all_tasks=lambda: [SimpleNamespace(task_name="a"), SimpleNamespace(task_name="b")])
    loaded = {"tasks": {"gsm": gsm, "ife": ife, "mc2": mc2, "a": sub_a, "b": sub_b}, "groups": {"grp": group}}
    got = lm_eval_suite.summarise(out, loaded, ["gsm", "ife", "mc2", "grp"])
    assert got["lm_eval/gsm"] == {"accuracy": 0.5, "metric": "exact_match,strict-match", "correct": "10"}
    assert got["lm_eval/ife"] == {"accuracy": 1.0, "metric": "prompt_level_strict_acc,none", "correct": "1"}
    assert got["lm_eval/mc2"] == {"accuracy": 0.6, "metric": "acc,none", "correct": None}
    assert got["lm_eval/grp"] == {"accuracy": 0.4, "metric": "acc,none", "correct": "10001"}
    out["results"]["gsm"]["exact_match,strict-match"] = 12.5
    with pytest.raises(ForgetbenchError, match=r"'gsm'.*'exact_match,strict-match' is 12.5, not an accuracy"):
        lm_eval_suite.summarise(out, loaded, ["gsm"])
