"""Greedy generation with the prompts' shared prefix computed once (llm/eval/generation.py,
``eval.share_prefix``) gives the plain path's completions, on the shipped micro and tiny bases."""
import pytest

from forgetbench import load_model
from forgetbench.llm.eval import generation
from forgetbench.llm.eval.generation import MIN_SHARED_PREFIX, _shared_length, generate_completions
from forgetbench.plugins.registry import get_task

#: a system turn as a chat template writes it: every prompt starts with it
SYSTEM = "<system>Answer in a few words.</system> "


def test_shared_length_leaves_each_prompt_a_token():
    assert _shared_length([[1, 2, 3, 4], [1, 2, 3, 5, 6]]) == 3
    assert _shared_length([[1, 2, 3], [1, 2, 3, 4]]) == 2          # the shorter keeps its last token
    assert _shared_length([[7, 2], [1, 2]]) == 0
    assert _shared_length([[1, 2, 3]]) == 2


@pytest.mark.parametrize("base,tasks", [("embedded:micro", ["copy", "add"]),
                                        ("embedded:tiny", ["sum_to", "even_between", "reverse"])])
def test_completions_equal_the_plain_path(base, tasks, monkeypatch):
    model, tok = load_model(base)
    calls = []
    real = generation._with_shared_prefix
    monkeypatch.setattr(generation, "_with_shared_prefix", lambda *a, **k: calls.append(1) or real(*a, **k))
    for name in tasks:
        task = get_task(name)
        prompts = [SYSTEM + r["prompt"] for r in task.load("eval").select(range(48))]   # lengths differ
        plain = generate_completions(model, tok, prompts, task.max_new_tokens, batch_size=16)
        shared = generate_completions(model, tok, prompts, task.max_new_tokens, batch_size=16, share_prefix=True)
        assert shared == plain, name
        # the bare prompts too (a shorter shared prefix: taken only when it is >= MIN_SHARED_PREFIX tokens)
        bare = [r["prompt"] for r in task.load("eval").select(range(16))]
        assert generate_completions(model, tok, bare, task.max_new_tokens, share_prefix=True) == \
            generate_completions(model, tok, bare, task.max_new_tokens)
    assert len(calls) == 3 * len(tasks) + len(tasks)     # 3 batches of 16 each, then the bare batch
    assert len(tok(SYSTEM)["input_ids"]) >= MIN_SHARED_PREFIX


def test_short_prefixes_sampling_and_the_default_take_the_plain_path(monkeypatch):
    model, tok = load_model("embedded:micro")
    assert generation._with_shared_prefix(model, tok, ["ab", "ba"], 4) is None       # nothing shared
    assert generation._with_shared_prefix(model, tok, ["abc1", "abc2"], 4) is None   # under the minimum
    seen = []
    monkeypatch.setattr(generation, "_with_shared_prefix", lambda *a, **k: seen.append(1))
    prompts = [SYSTEM + "ab", SYSTEM + "abc"]
    generate_completions(model, tok, prompts, 2, do_sample=True, share_prefix=True)
    generate_completions(model, tok, prompts, 2)                                      # off by default
    assert seen == []
