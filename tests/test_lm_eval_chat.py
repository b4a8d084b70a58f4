"""lm-eval columns for chat models: ``eval.lm_eval.apply_chat_template`` / ``system_instruction`` reach
lm-eval (the context is the tokenizer's chat template, hand-checked log-likelihoods), a tokenizer without
a template is refused, the fields keep old fingerprints, and the shipped ``forgetbench_instruct_mc`` is
the instruct prior skills' own eval rows with one right reply each."""
import json
import shutil

import pytest
import torch

pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install -e '.[lm_eval]')")

from forgetbench.config.lm_eval_params import LMEvalParams  # noqa: E402
from forgetbench.config.schema import load_config  # noqa: E402
from forgetbench.errors import ForgetbenchError  # noqa: E402
from forgetbench.llm.eval import lm_eval_data, lm_eval_suite  # noqa: E402

TEMPLATE = ("{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}[assistant]{% endif %}")
MC, LIMIT, SYSTEM = "forgetbench_prior_mc", 12, "Be brief."


@pytest.fixture(scope="module")
def tiny_chat(tmp_path_factory):
    """The tiny base with a chat template added to its tokenizer (its prompts fit its 64 positions)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from forgetbench.llm.base_model.load import resolve_model_path

    path = tmp_path_factory.mktemp("tiny") / "chat"
    shutil.copytree(resolve_model_path("embedded:tiny"), path)
    (path / "chat_template.jinja").write_text(TEMPLATE)
    return AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)


def test_chat_template_is_the_context_of_every_choice(tiny_chat):
    """acc per document = 1 when sum_t log p(choice_t | [system]Be brief.</s>[user]prompt</s>[assistant] choice_<t)
    is highest for the answer (no delimiter after the template)."""
    model, tok = tiny_chat
    docs = [json.loads(x) for x in (lm_eval_suite.SHIPPED_DIR / "prior_skills_mc.jsonl").read_text().splitlines()][:LIMIT]
    expected = ""
    for d in docs:
        ctx = f"[system]{SYSTEM}</s>[user]{d['prompt']}</s>[assistant]"
        assert ctx == tok.apply_chat_template([{"role": "system", "content": SYSTEM}, {"role": "user", "content": d["prompt"]}],
                                              tokenize=False, add_generation_prompt=True)
        scores = []
        for choice in d["choices"]:
            ids = tok(ctx + choice, return_tensors="pt")["input_ids"]
            n = len(tok(choice, add_special_tokens=False)["input_ids"])
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
            scores.append(sum(logp[i - 1, ids[0, i]].item() for i in range(ids.shape[1] - n, ids.shape[1])))
        expected += "1" if max(range(4), key=scores.__getitem__) == d["label"] else "0"
    chat = lm_eval_suite.run_suite(model, tok, LMEvalParams(tasks=[MC], limit=LIMIT, apply_chat_template=True,
                                                            system_instruction=SYSTEM))["lm_eval/" + MC]
    plain = lm_eval_suite.run_suite(model, tok, LMEvalParams(tasks=[MC], limit=LIMIT))["lm_eval/" + MC]
    assert chat["correct"] == expected and chat["accuracy"] == pytest.approx(expected.count("1") / LIMIT)
    assert chat["correct"] != plain["correct"]   # the template changed what the model saw


def test_no_template_is_refused(tiny_chat):
    from transformers import AutoTokenizer

    from forgetbench.llm.base_model.load import resolve_model_path

    plain = AutoTokenizer.from_pretrained(resolve_model_path("embedded:tiny"))
    with pytest.raises(ForgetbenchError, match="apply_chat_template is true but the model's tokenizer has no chat template"):
        lm_eval_suite.run_suite(tiny_chat[0], plain, LMEvalParams(tasks=[MC], limit=1, apply_chat_template=True))


def test_chat_fields_parse_and_keep_old_fingerprints():
    from forgetbench.loop.sequence import fingerprint

    base = ["--config", str(lm_eval_suite.SHIPPED_DIR.parent / "configs" / "smoke.yaml"), "--eval.lm_eval.tasks", MC]
    cfg = load_config(base).to_dict()
    old = dict(cfg, eval=dict(cfg["eval"], lm_eval={k: v for k, v in cfg["eval"]["lm_eval"].items()
                                                    if k not in ("apply_chat_template", "system_instruction")}))
    assert fingerprint(cfg) == fingerprint(old)
    chat = load_config(base + ["--eval.lm_eval.apply_chat_template", "true", "--eval.lm_eval.system_instruction", SYSTEM])
    assert chat.eval.lm_eval.apply_chat_template is True and chat.eval.lm_eval.system_instruction == SYSTEM
    assert fingerprint(chat.to_dict()) != fingerprint(old)


def test_instruct_mc_documents_are_the_eval_rows_with_one_right_reply():
    from forgetbench.plugins.registry import get_task

    docs = [json.loads(x) for x in (lm_eval_suite.SHIPPED_DIR / "instruct_skills_mc.jsonl").read_text().splitlines()]
    assert docs == lm_eval_data.instruct_documents()          # the shipped file is the rule's output
    assert len(docs) == 150 and [d["skill"] for d in docs[:3]] == ["capital_city", "opposite_word", "add_digits"]
    for skill in lm_eval_data.INSTRUCT_SKILLS:
        task, mine = get_task(skill), [d for d in docs if d["skill"] == skill]
        assert [d["prompt"] for d in mine] == list(task.load("eval")["prompt"])[:50]
        for d in mine:
            assert len(set(d["choices"])) == 4
            assert [task.score(c, d) for c in d["choices"]] == [float(i == d["label"]) for i in range(4)], d
    first = docs[0]   # hand-checked: Slovenia -> Ljubljana, the three others are other capitals
    assert first["choices"][first["label"]] == "The capital of Slovenia is Ljubljana."
    assert docs[2]["choices"][docs[2]["label"]] == "3 + 8 = 11." and sorted(docs[2]["choices"]) == [
        "3 + 8 = 10.", "3 + 8 = 11.", "3 + 8 = 12.", "3 + 8 = 21."]
