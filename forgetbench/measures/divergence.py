"""Divergences between distributions: closed forms over categoricals and the sampled KL of two LMs.

The LM estimator (:func:`lm_kl`) is RL's Razor's forward KL on new-task prompts,
``E_{x} E_{y~π0(·|x)} Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t))`` in nats per sequence: exact over the
vocabulary at each position, Monte Carlo only over the sampled completions y (T = 1, no top-k/top-p).

Models are duck-typed causal LMs: ``model(input_ids=, attention_mask=, position_ids=).logits`` and
``model.generate(...)``. The tokenizer is duck-typed too: ``tokenizer(list_of_str, return_tensors="pt",
padding=True)`` returns ``input_ids`` and ``attention_mask`` (left padding is used: a
``padding_side`` attribute, if present, is set to ``"left"`` for the call and restored), and it has
``pad_token_id`` and ``eos_token_id`` (an int or a list of ints; ``pad_token_id=None`` -> EOS).
"""
from __future__ import annotations

import inspect
import math
import warnings

import torch
import torch.nn.functional as F

__all__ = ["categorical_kl", "categorical_reverse_kl", "total_variation", "kl_from_logits", "lm_kl",
           "metric_definitions"]

_DEFINITIONS = {
    "new_task_forward_kl": "E_{x~new-task prompts} E_{y~π0(·|x)} Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t)), "
                           "exact per-token KL over the vocabulary, T=1, no top-k/top-p; nats/sequence.",
    "old_task_forward_kl": "The same forward KL on prompts of the old tasks (prior skills and earlier "
                           "stages).",
}


def metric_definitions() -> dict[str, str]:
    """One-line definition of the KL measures reported per stage."""
    return dict(_DEFINITIONS)


def categorical_kl(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """KL(p‖q) = Σ_i p_i log(p_i/q_i) along the last dim (0·log 0 = 0; q clamped at ``eps``)."""
    p, q = torch.as_tensor(p), torch.as_tensor(q)
    p, q = torch.broadcast_tensors(p, q)
    terms = p * (torch.log(p.clamp_min(eps)) - torch.log(q.clamp_min(eps)))
    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(-1)


def categorical_reverse_kl(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Reverse KL: KL(q‖p) = Σ_i q_i log(q_i/p_i) along the last dim."""
    return categorical_kl(q, p, eps)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total variation ½ Σ_i |p_i - q_i| along the last dim."""
    return 0.5 * (torch.as_tensor(p) - torch.as_tensor(q)).abs().sum(-1)


def kl_from_logits(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """Exact KL(softmax(logits_p) ‖ softmax(logits_q)) along the last dim, via log_softmax (≥ fp32).

    = Σ_i p_i (log p_i - log q_i); entries with p_i = 0 (e.g. -inf logits) contribute 0.
    """
    dt = torch.promote_types(torch.promote_types(logits_p.dtype, logits_q.dtype), torch.float32)
    lp = F.log_softmax(logits_p.to(dt), dim=-1)
    lq = F.log_softmax(logits_q.to(dt), dim=-1)
    p = lp.exp()
    terms = p * (lp - lq)
    return torch.where(p > 0, terms, torch.zeros_like(terms)).sum(-1)


# Generation-config fields that would distort sampling from π, and the value that switches each off.
_NEUTRAL = dict(repetition_penalty=1.0, no_repeat_ngram_size=0, min_length=0, min_new_tokens=0,
                typical_p=1.0, epsilon_cutoff=0.0, eta_cutoff=0.0, min_p=0.0)
_CANNOT_NEUTRALISE = ("bad_words_ids", "suppress_tokens", "begin_suppress_tokens", "sequence_bias",
                      "forced_bos_token_id", "forced_eos_token_id", "exponential_decay_length_penalty",
                      "top_h", "watermarking_config")


def _pure_sampling_overrides(model) -> dict:
    """kwargs for ``generate`` that undo the model's default logits processors (a biased sampler)."""
    gc = getattr(model, "generation_config", None)
    if gc is None:
        return {}
    out = {k: v for k, v in _NEUTRAL.items() if getattr(gc, k, None) not in (None, v)}
    bad = [k for k in _CANNOT_NEUTRALISE if getattr(gc, k, None) is not None]
    if bad:
        warnings.warn(f"lm_kl: the sampling model's generation_config sets {bad}; samples are not "
                      f"drawn from the plain softmax, so the KL estimate is biased", stacklevel=3)
    return out


def _device_of(model) -> torch.device:
    dev = getattr(model, "device", None)
    if isinstance(dev, torch.device):
        return dev
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _eos_ids(tokenizer, model) -> list[int]:
    eos = getattr(tokenizer, "eos_token_id", None)
    if eos is None:
        eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        return []
    return [int(e) for e in eos] if isinstance(eos, (list, tuple)) else [int(eos)]


def _tokenize_left(tokenizer, prompts: list[str]):
    side = getattr(tokenizer, "padding_side", None)
    if side is not None:
        tokenizer.padding_side = "left"
    try:
        enc = tokenizer(prompts, return_tensors="pt", padding=True)
    finally:
        if side is not None:
            tokenizer.padding_side = side
    return enc["input_ids"], enc["attention_mask"]


def _keeps_logits(model) -> bool:
    """Whether ``model``'s forward takes ``logits_to_keep`` (transformers' causal LMs, under PEFT too)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        return "logits_to_keep" in inspect.signature(inner.forward).parameters
    except (TypeError, ValueError):
        return False


def _logits(model, ids: torch.Tensor, mask: torch.Tensor, last: int | None = None) -> torch.Tensor:
    """Logits of ``model`` on ``ids``; with ``last``, only the last ``last`` positions' (the LM head
    is applied to those alone when the model supports ``logits_to_keep``)."""
    dev = _device_of(model)
    ids, mask = ids.to(dev), mask.to(dev)
    pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
    if last is not None and _keeps_logits(model):
        return model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=last).logits
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
    return out if last is None else out[:, -last:]


def _draw(sampler, ids, mask, eos, pad_id, n_samples, max_new_tokens, overrides) -> dict:
    """n_samples completions per prompt from ``sampler``, with the masks and the sampler's raw logits."""
    dev = _device_of(sampler)
    P = ids.shape[1]
    gen = sampler.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev), do_sample=True,
                           temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=max_new_tokens,
                           num_return_sequences=n_samples, pad_token_id=pad_id,
                           eos_token_id=eos if len(eos) != 1 else eos[0], return_dict_in_generate=True,
                           output_logits=True, **overrides)
    # The sampler's raw (unprocessed) logits at each generated position come with the samples: one
    # forward pass fewer than re-scoring them (a duck-typed generate returning a tensor is re-scored).
    seq = (gen if isinstance(gen, torch.Tensor) else gen.sequences).cpu()
    gen_logits = None if isinstance(gen, torch.Tensor) or not getattr(gen, "logits", None) \
        else torch.stack(gen.logits, dim=1)
    comp = seq[:, P:]                                      # completions, padded after EOS
    is_eos = torch.isin(comp, torch.tensor(eos, dtype=comp.dtype)) if eos \
        else torch.zeros_like(comp, dtype=torch.bool)
    before = is_eos.long().cumsum(-1) - is_eos.long()      # EOS tokens strictly before t
    valid = before == 0                                    # up to and including the first EOS
    pmask = mask.cpu().repeat_interleave(n_samples, dim=0)
    full_mask = torch.cat([pmask, valid.to(pmask.dtype)], dim=1)
    if gen_logits is not None and gen_logits.shape[1] != comp.shape[1]:
        gen_logits = None
    return dict(seq=seq, mask=full_mask, valid=valid, logits=gen_logits, P=P)


def _sequence_kls(sampler, other, draw: dict, chunk: int) -> list[float]:
    """Σ_t KL(sampler ‖ other) over each drawn completion."""
    seq, full_mask, valid, gen_logits, P = (draw[k] for k in ("seq", "mask", "valid", "logits", "P"))
    L = valid.shape[1]
    out: list[float] = []
    for i in range(0, seq.shape[0], chunk):
        s, m = seq[i:i + chunk], full_mask[i:i + chunk]
        # positions P-1 … P+L-2 predict the L completion tokens: the last L+1 positions but one
        lg_s = gen_logits[i:i + chunk] if gen_logits is not None else _logits(sampler, s, m, L + 1)[:, :L]
        lg_o = lg_s if other is sampler else _logits(other, s, m, L + 1)[:, :L].to(lg_s.device)
        # (b, L): KL at each completion token. The sampler's logits come from cached decoding and the
        # other model's from a full forward, so equal weights give ±1e-7 rather than exactly 0:
        # clamp that rounding at 0 (each term is a KL, never negative).
        kl = kl_from_logits(lg_s, lg_o).clamp_min_(0.0).cpu()
        out += (kl * valid[i:i + chunk]).sum(-1).double().tolist()
    return out


@torch.no_grad()
def lm_kl(base, model, tokenizer, prompts: list[str], *, n_samples: int = 2, max_new_tokens: int = 8,
          batch_size: int = 64, sample_from: str = "base", seed: int = 0, shard: bool = True,
          draws: dict | None = None) -> dict:
    """Sequence-level KL between two causal LMs on ``prompts``, in nats per sequence.

    ``sample_from="base"``: forward KL(π0‖π) = E_x E_{y~π0(·|x)} Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t))
    (RL's Razor); ``"model"``: reverse KL(π‖π0), roles swapped. y is sampled at T=1 with no top-k /
    top-p (``n_samples`` per prompt, at most ``max_new_tokens`` tokens); t runs over completion
    tokens up to and including the first EOS. Returns ``dict(mean, stderr, n)`` over the sampled
    sequences (stderr = std(ddof=1)/sqrt(n), ``None`` when n < 2).

    ``batch_size`` bounds the sequences (prompts × samples) per scoring forward pass; generation
    takes ``max(1, batch_size // n_samples)`` prompts at a time. Sampling is seeded with
    ``torch.manual_seed(seed)`` inside ``torch.random.fork_rng`` (the global RNG is left untouched).
    Under ``torch.distributed`` with world size > 1, rank r takes ``prompts[r::world]`` and all ranks
    return the same pooled numbers (every rank must call this); ``shard=False``: this process takes
    every prompt, with no collective call (the numbers of a single process).

    ``draws``: a dict the caller keeps while the *sampler* stays the same (the base, for the forward
    KL, along a whole run): the samples and the sampler's logits are stored in it under the call's
    prompts and settings, and a later call with the same ones only runs the other model — the same
    numbers, bit for bit, without generating again.
    """
    if sample_from not in ("base", "model"):
        raise ValueError(f"lm_kl: sample_from must be 'base' or 'model', got {sample_from!r}")
    if n_samples < 1 or max_new_tokens < 1 or batch_size < 1:
        raise ValueError("lm_kl: n_samples, max_new_tokens and batch_size must be >= 1")
    if not prompts:
        raise ValueError("lm_kl: no prompts")
    dist = torch.distributed
    world = dist.get_world_size() if shard and dist.is_available() and dist.is_initialized() else 1
    rank = dist.get_rank() if world > 1 else 0
    mine = list(prompts)[rank::world]
    sampler, other = (base, model) if sample_from == "base" else (model, base)
    eos = _eos_ids(tokenizer, sampler)
    pad_id = getattr(tokenizer, "pad_token_id", None)
    pad_id = pad_id if pad_id is not None else (eos[0] if eos else 0)
    overrides = _pure_sampling_overrides(sampler)
    per_prompt = max(1, batch_size // n_samples)
    modes = [(m, m.training) for m in (base, model) if hasattr(m, "train")]
    for m, _ in modes:
        m.eval()
    dev = _device_of(sampler)
    fork_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] \
        if dev.type == "cuda" else []
    values: list[float] = []
    try:
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(seed)
            key = (tuple(mine), n_samples, max_new_tokens, batch_size, seed)
            kept = draws.get(key) if draws is not None else None
            if kept is None:
                kept = []
                for i in range(0, len(mine), per_prompt):
                    ids, mask = _tokenize_left(tokenizer, mine[i:i + per_prompt])
                    kept.append(_draw(sampler, ids, mask, eos, pad_id, n_samples, max_new_tokens, overrides))
                if draws is not None:
                    draws[key] = kept
            for draw in kept:
                values += _sequence_kls(sampler, other, draw, batch_size)
    finally:
        for m, was_training in modes:
            m.train(was_training)
    if world > 1:
        gathered: list = [None] * world
        dist.all_gather_object(gathered, values)
        values = [v for part in gathered for v in part]
    n = len(values)
    mean = sum(values) / n
    stderr = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n) if n > 1 else None
    return dict(mean=mean, stderr=stderr, n=n)
