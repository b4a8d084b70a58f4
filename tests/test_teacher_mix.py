"""``teacher_mix`` and the teacher's forward KL to the base: targets drawn per prompt and seed (0 = the easy
rule's rows, 1 = the hard rule's), the KL by hand on a crafted base, the default leaving fingerprints alone."""
import math
from pathlib import Path

import pytest
import torch

from forgetbench.config.fingerprint import fingerprint
from forgetbench.config.schema import config_class, load_config
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.teacher_mix import hard_pick, mixed_rows, teacher_distribution, teacher_kl
from forgetbench.measures.teacher_kl import completion_logprobs, forward_kl
from forgetbench.plugins.registry import get_task

ROOT = Path(__file__).resolve().parent.parent


def test_forward_kl_of_crafted_distributions():
    # q = (1/2, 1/2) against p = (1/4, 1/4): log 2; a point mass on y with log p(y) = -3: 3 nats
    assert forward_kl([{"a": 0.5, "b": 0.5}], [{"a": math.log(0.25), "b": math.log(0.25)}]) == pytest.approx(math.log(2))
    assert forward_kl([{"a": 0.5, "b": 0.5}, {"y": 1.0}],
                      [{"a": math.log(0.25), "b": math.log(0.25)}, {"y": -3.0}]) == pytest.approx((math.log(2) + 3) / 2)


class Uniform(torch.nn.Module):
    """A crafted base: every next token uniform over the vocabulary (log p(y|x) = −(len(y) + 1)·log V)."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab, self.w = vocab, torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, attention_mask=None):
        return type("Out", (), {"logits": torch.zeros(*input_ids.shape, self.vocab) + self.w})()


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    from forgetbench.llm.base_model.load import resolve_model_path

    return AutoTokenizer.from_pretrained(resolve_model_path("embedded:tiny"))


def test_teacher_kl_by_hand_on_a_uniform_base(tok):
    V = len(tok)
    task = get_task("sum_to")
    row = {"prompt": "sm:57:", "answer": "57", "target": "50+7"}          # easy 50+7 (4 chars), hard 28+29 (5)
    assert task.teacher_rules(row) == {"easy": "50+7", "hard": "28+29"}
    assert completion_logprobs(Uniform(V), tok, [("sm:57:", "50+7")]) == [pytest.approx(-5 * math.log(V))]
    got = teacher_kl(Uniform(V), tok, task, [row], 0.25)["teacher_forward_kl"]
    # KL = Σ q log q − Σ q log p = .75 log .75 + .25 log .25 + (.75·5 + .25·6) log V
    assert got == pytest.approx(0.75 * math.log(0.75) + 0.25 * math.log(0.25) + 5.25 * math.log(V), rel=1e-6)
    assert teacher_kl(Uniform(V), tok, task, [row], None)["teacher_forward_kl"] == pytest.approx(5 * math.log(V))
    uniform = get_task("sum_to", teacher="uniform")                     # 56 answers: KL = −log 56 + E[len+1] log V
    lens = [len(a) + 1 for a in uniform.correct_answers(row)]
    assert teacher_kl(Uniform(V), tok, uniform, [row], None)["teacher_forward_kl"] == pytest.approx(
        -math.log(56) + sum(lens) / 56 * math.log(V), rel=1e-6)


def test_completion_logprobs_are_the_models_own(tok):
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path

    model, _ = load_model_and_tokenizer(resolve_model_path("embedded:tiny"))
    ids = tok("sm:57:")["input_ids"] + tok("50+7", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0], -1)
    by_hand = sum(float(logp[t - 1, ids[t]]) for t in range(7, len(ids)))
    got = completion_logprobs(model, tok, [("ev:23-41:", "24"), ("sm:57:", "50+7")])   # padded in one batch
    assert got[1] == pytest.approx(by_hand, abs=1e-4)


def test_mix_draws_per_prompt_and_seed():
    task = get_task("multiple")
    rows = list(task.load("train"))[:400]
    easy = [task.teacher_rules(r)["easy"] for r in rows]
    assert [r["target"] for r in mixed_rows(task, rows, 0.0, seed=3)] == easy == [r["target"] for r in rows]
    hard = list(get_task("multiple", teacher="hard").load("train"))[:400]
    assert [r["target"] for r in mixed_rows(task, rows, 1.0, seed=3)] == [r["target"] for r in hard]
    half = mixed_rows(task, rows, 0.5, seed=3)
    n_hard = sum(r["target"] != e for r, e in zip(half, easy))
    distinct = sum(task.teacher_rules(r)["hard"] != task.teacher_rules(r)["easy"] for r in rows)
    assert n_hard == sum(hard_pick(3, "multiple", r["prompt"], 0.5) and task.teacher_rules(r)["hard"] != e
                         for r, e in zip(rows, easy)) and 0.4 * distinct < n_hard < 0.6 * distinct
    by_prompt = {}
    for r in half:
        assert by_prompt.setdefault(r["prompt"], r["target"]) == r["target"]   # a prompt keeps its target
    assert mixed_rows(task, rows, 0.5, seed=4) != half
    crafted = {"prompt": "ml:3<20:", "answer": "3,20", "target": "3"}
    assert teacher_distribution(task, crafted, 0.25) == {"3": 0.75, "18": 0.25}
    assert teacher_distribution(task, crafted, 0.0) == {"3": 1.0}
    rotate = get_task("rotate")
    plain = list(rotate.load("train"))[:5]
    assert mixed_rows(rotate, plain, 0.5, seed=0) == plain                      # no rules: unchanged


def test_teacher_mix_is_checked_and_left_out_of_the_fingerprint_when_null():
    cfg = config_class()().to_dict()
    assert cfg["teacher_mix"] is None
    assert fingerprint(cfg) == fingerprint({k: v for k, v in cfg.items() if k != "teacher_mix"})
    assert fingerprint({**cfg, "teacher_mix": 0.0}) != fingerprint(cfg)
    with pytest.raises(ForgetbenchError, match=r"teacher_mix must be in \[0, 1\] or null, got 1.5"):
        load_config(["--config", str(ROOT / "configs" / "smoke.yaml"), "--teacher_mix", "1.5"])


def test_an_sft_run_records_the_teacher_kl_and_trains_on_the_mix(tmp_path):
    import json

    from forgetbench.launch.experiment import run_experiment

    args = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--methods", "sft", "--max_steps", "2", "--max_stages",
            "1", "--overlap_measurement", "false"]
    assert run_experiment(args + ["--output_dir", str(tmp_path / "easy")]) == 0
    assert run_experiment(args + ["--teacher_mix", "1", "--output_dir", str(tmp_path / "hard")]) == 0
    easy, hard = (json.loads((tmp_path / d / "sft" / "seed0" / "results.json").read_text()) for d in ("easy", "hard"))
    e, h = easy["train_stats"][0], hard["train_stats"][0]
    assert "teacher_mix" not in e and h["teacher_mix"] == 1.0 and e["teacher_kl_prompts"] == 8
    assert 0 < e["teacher_forward_kl"] < h["teacher_forward_kl"]      # the base says 50+7 rather than 28+29
    assert easy["accuracy"] != hard["accuracy"]
