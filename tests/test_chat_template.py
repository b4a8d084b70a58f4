"""Chat templates: with ``chat_template`` on, a task's prompt reaches the model as one user message of
the tokenizer's template (generation prompt appended), tasks still score their own prompt, and the
switch accepts auto / true / false."""
import shutil

import pytest

from forgetbench.config.schema import load_config
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.chat import PromptFormat, raw_example, uses_chat_template

TEMPLATE = ("{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{{ eos_token }}{% endfor %}"
            "{% if add_generation_prompt %}[assistant]{% endif %}")


@pytest.fixture()
def chat_base(micro_base_path, tmp_path):
    """The micro base with a chat template added to its tokenizer."""
    path = tmp_path / "micro-chat"
    shutil.copytree(micro_base_path, path)
    (path / "chat_template.jinja").write_text(TEMPLATE)
    return path


def test_prompt_becomes_a_user_message(chat_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(chat_base)
    fmt = PromptFormat(tok, "auto")
    assert fmt.enabled and fmt("cp:ab=") == "[user]cp:ab=</s>[assistant]"
    assert PromptFormat(tok, "false")("cp:ab=") == "cp:ab="
    row = {"prompt": "cp:ab=", "answer": "ab", "target": "ab"}
    (formatted,) = fmt.rows([row])
    assert formatted == {"prompt": "[user]cp:ab=</s>[assistant]", "raw_prompt": "cp:ab=", "answer": "ab", "target": "ab"}
    assert raw_example(formatted) == row


def test_a_bos_the_tokenizer_adds_is_not_doubled(chat_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(chat_base)
    tok.chat_template = "{{ bos_token }}" + TEMPLATE   # the micro tokenizer adds <s> itself
    text = PromptFormat(tok)("cp:ab=")
    assert text == "[user]cp:ab=</s>[assistant]"
    assert tok(text)["input_ids"].count(tok.bos_token_id) == 1


def test_switch_values(micro_base_path):
    from transformers import AutoTokenizer

    plain = AutoTokenizer.from_pretrained(micro_base_path)  # the char tokenizer has no template
    assert uses_chat_template("auto", plain) is False and uses_chat_template(False, plain) is False
    with pytest.raises(ForgetbenchError, match="chat_template is true but the model's tokenizer has no chat template"):
        uses_chat_template(True, plain)
    assert load_config(["--chat_template", "false"]).chat_template == "false"
    with pytest.raises(ForgetbenchError, match="chat_template must be auto, true or false"):
        load_config(["--chat_template", "maybe"])


def test_learner_feeds_templated_prompts_and_scores_raw_ones(chat_base, monkeypatch):
    import forgetbench.llm.methods.sft as sft
    from forgetbench.llm.learner import LLMLearner, run_header

    seen = []
    real = sft.train_sft
    monkeypatch.setattr(sft, "train_sft", lambda model, tok, rows, **kw: seen.append(rows[0]) or real(model, tok, rows, **kw))

    cfg = load_config(["--config", "configs/smoke.yaml", "--model_name_or_path", str(chat_base),
                       "--methods", "sft", "--max_steps", "2"])
    learner = LLMLearner(cfg, "sft", 0, str(chat_base))
    row = learner.eval_rows["copy"][0]
    assert row["prompt"] == f"[user]{row['raw_prompt']}</s>[assistant]" and row["raw_prompt"].startswith("cp:")
    acc = learner.evaluate()
    assert set(acc) == {"sum_to", "even_between", "copy", "add"} and all(0 <= a <= 1 for a in acc.values())
    stats = learner.train_stage("sum_to", 1)
    assert stats["sft_rows"] == 16 and stats["final_loss"] > 0
    assert seen[0]["prompt"].startswith("[user]sm:") and seen[0]["prompt"].endswith(":</s>[assistant]")
    assert run_header(cfg, str(chat_base))["chat_template"] is True


@pytest.mark.parametrize("method", ["rloo", "dpo", "online_dpo", "kd", "opd", "sdft"])
def test_spectrum_methods_train_on_templated_prompts(chat_base, method, monkeypatch):
    """Each spectrum method gets the chat-formatted rows (``raw_prompt`` kept for the task's score)."""
    import dataclasses

    from forgetbench.llm.learner import LLMLearner
    from forgetbench.plugins import methods

    seen = []
    real = methods.get_method(method)
    monkeypatch.setitem(methods._REGISTRY, method,
                        dataclasses.replace(real, train=lambda s: seen.append(s.rows[0]) or real.train(s)))
    cfg = load_config(["--config", "configs/smoke.yaml", "--model_name_or_path", str(chat_base),
                       "--methods", method, "--max_steps", "1"])
    stats = LLMLearner(cfg, method, 0, str(chat_base)).train_stage("sum_to", 1)
    assert seen[0]["prompt"] == f"[user]{seen[0]['raw_prompt']}</s>[assistant]" and stats["prompts"] == 8
