"""Batched generation with ``generate``: left padding, KV cache, stop at EOS."""
from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def seeded(seed: int):
    """Sampling inside draws from ``torch.manual_seed(seed)``; the global RNG state is restored after."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def sampling_kwargs(do_sample: bool) -> dict:
    """Greedy, or pure sampling at T=1 with no top-k / top-p truncation (unbiased)."""
    if do_sample:
        return dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0)
    return dict(do_sample=False, temperature=None, top_k=None, top_p=None)


@torch.no_grad()
def generate_completions(model, tokenizer, prompts: list[str], max_new_tokens: int, *,
                         do_sample: bool = False, num_return_sequences: int = 1,
                         batch_size: int = 256, temperature: float = 1.0) -> list[str]:
    """Completions (decoded, special tokens dropped), ``num_return_sequences`` per prompt, in
    prompt-major order (sampled at ``temperature`` when ``do_sample``)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[str] = []
    for i in range(0, len(prompts), batch_size):
        enc = tokenizer(prompts[i:i + batch_size], return_tensors="pt", padding=True).to(device)
        seq = model.generate(**enc, max_new_tokens=max_new_tokens, num_return_sequences=num_return_sequences,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                             use_cache=True, **{**sampling_kwargs(do_sample),
                                                **({"temperature": temperature} if do_sample else {})})
        out += tokenizer.batch_decode(seq[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    model.train(was_training)
    return out
