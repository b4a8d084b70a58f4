"""Divergences: closed forms, and the sampled LM KL against exact enumeration on a tiny Llama."""
import itertools
import math
import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch

from forgetbench.measures.divergence import (categorical_kl, categorical_reverse_kl, kl_from_logits,
                                             lm_kl, total_variation)

PAD, BOS, EOS = 0, 1, 2
WORDS = {"a": 3, "b": 4}


def test_categorical_closed_forms():
    p = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=torch.float64)
    want = [0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1), math.log(2.0)]
    assert categorical_kl(p, q).tolist() == pytest.approx(want, rel=1e-12)
    rev = [0.9 * math.log(0.9 / 0.5) + 0.1 * math.log(0.1 / 0.5), 0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-12)]
    assert categorical_reverse_kl(p, q).tolist() == pytest.approx(rev, rel=1e-9)
    assert total_variation(p, q).tolist() == pytest.approx([0.4, 0.5])
    assert categorical_kl(p, p).tolist() == [0.0, 0.0]


def test_kl_from_logits_matches_softmax_kl():
    lp = torch.tensor([[2.0, 0.0, -1.0], [0.0, float("-inf"), 1.0]])
    lq = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    want = categorical_kl(torch.softmax(lp.double(), -1), torch.softmax(lq.double(), -1))
    assert kl_from_logits(lp, lq).tolist() == pytest.approx(want.tolist(), rel=1e-5)
    assert kl_from_logits(lp, lp).tolist() == [0.0, 0.0]


class TinyTokenizer:
    """Duck-typed tokenizer: BOS + one id per word; pads on ``padding_side`` (deliberately "right")."""
    pad_token_id, eos_token_id = PAD, EOS

    def __init__(self):
        self.padding_side = "right"

    def __call__(self, prompts, return_tensors="pt", padding=True):
        rows = [[BOS] + [WORDS[w] for w in p.split()] for p in prompts]
        n = max(map(len, rows))
        ids, mask = [], []
        for r in rows:
            pad = [PAD] * (n - len(r))
            ids.append(pad + r if self.padding_side == "left" else r + pad)
            mask.append([0] * len(pad) + [1] * len(r) if self.padding_side == "left" else [1] * len(r) + [0] * len(pad))
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}


@pytest.fixture(scope="module")
def models():
    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=5, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32,
                      pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS, initializer_range=0.3,
                      tie_word_embeddings=False)
    torch.manual_seed(0)
    base = LlamaForCausalLM(cfg).eval()
    model = LlamaForCausalLM(cfg).eval()
    model.load_state_dict(base.state_dict())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
        for m in (base, model):
            m.lm_head.weight[EOS] *= 0.0                   # EOS logit 0: early stops are common
    return base, model


def exact_kl(p_model, q_model, prompt, max_new_tokens):
    """E_{y~p} Σ_t KL(p(·|x,y<t) ‖ q(·|x,y<t)) by enumerating every non-EOS prefix (no padding).

    One batched forward per prefix length: prob(prefix) from p's logits along the prefix, KL at its end.
    """
    x = [BOS] + [WORDS[w] for w in prompt.split()]
    n = len(x)
    total = 0.0
    with torch.no_grad():
        for length in range(max_new_tokens):
            prefixes = list(itertools.product([t for t in range(5) if t != EOS], repeat=length))
            ids = torch.tensor([x + list(pre) for pre in prefixes])
            lp = torch.log_softmax(p_model(input_ids=ids).logits.double(), -1)
            lq = q_model(input_ids=ids).logits.double()
            logprob = torch.zeros(len(prefixes), dtype=torch.float64)
            for t in range(length):                    # log-probability of each prefix under p
                logprob += lp[torch.arange(len(prefixes)), n - 1 + t, ids[:, n + t]]
            total += float((logprob.exp() * kl_from_logits(lp[:, -1], lq[:, -1])).sum())
    return total


PROMPTS = ["a b a", "b"]                                    # different lengths: left padding matters


@pytest.mark.parametrize("sample_from", ["base", "model"])
def test_lm_kl_matches_exact_enumeration(models, sample_from):
    base, model = models
    p, q = (base, model) if sample_from == "base" else (model, base)
    exact = sum(exact_kl(p, q, x, 3) for x in PROMPTS) / len(PROMPTS)
    tok = TinyTokenizer()
    state = torch.get_rng_state()
    est = lm_kl(base, model, tok, PROMPTS, n_samples=400, max_new_tokens=3, batch_size=800,
                sample_from=sample_from, seed=1)
    assert torch.equal(torch.get_rng_state(), state)       # global RNG untouched
    assert tok.padding_side == "right"                      # restored
    assert est["n"] == 800 and est["stderr"] > 0
    assert abs(est["mean"] - exact) < 3 * est["stderr"], (est, exact)
    assert exact > 0.05                                      # the test is not vacuous


def test_lm_kl_self_is_zero_and_seeded(models):
    base, model = models
    tok = TinyTokenizer()
    r = lm_kl(base, base, tok, PROMPTS, n_samples=8, max_new_tokens=3)
    assert r == {"mean": 0.0, "stderr": 0.0, "n": 16}
    a = lm_kl(base, model, tok, PROMPTS, n_samples=8, max_new_tokens=3, batch_size=4, seed=3)
    b = lm_kl(base, model, tok, PROMPTS, n_samples=8, max_new_tokens=3, batch_size=64, seed=3)
    assert a["n"] == b["n"] == 16 and a["mean"] > 0
    with pytest.raises(ValueError):
        lm_kl(base, model, tok, PROMPTS, sample_from="both")


def test_kept_base_draws_give_identical_numbers_without_generating_again(models, monkeypatch):
    base, model = models
    tok = TinyTokenizer()
    plain = lm_kl(base, model, tok, PROMPTS, n_samples=8, max_new_tokens=3, seed=5)
    draws: dict = {}
    first = lm_kl(base, model, tok, PROMPTS, n_samples=8, max_new_tokens=3, seed=5, draws=draws)
    assert first == plain and len(draws) == 1
    monkeypatch.setattr(base, "generate", lambda **kw: pytest.fail("generated again"))
    again = lm_kl(base, model, tok, PROMPTS, n_samples=8, max_new_tokens=3, seed=5, draws=draws)
    assert again == plain                                    # the bits, not a tolerance
    with torch.no_grad():                                    # a later stage: only the scored model moved
        moved = type(model)(model.config).eval()
        moved.load_state_dict({k: v + 0.1 for k, v in model.state_dict().items()})
    assert lm_kl(base, moved, tok, PROMPTS, n_samples=8, max_new_tokens=3, seed=5, draws=draws)["mean"] != plain["mean"]


def test_scoring_only_the_completion_positions_equals_the_full_forward(models):
    from forgetbench.measures import divergence
    base, model = models
    ids = torch.tensor([[BOS, 1, 2, 1, 3], [PAD, BOS, 2, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    assert divergence._keeps_logits(model)
    full = divergence._logits(model, ids, mask)
    kept = divergence._logits(model, ids, mask, 3)
    assert kept.shape == (2, 3, 5)
    torch.testing.assert_close(kept, full[:, -3:], rtol=1e-6, atol=1e-6)
