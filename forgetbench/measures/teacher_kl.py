"""The SFT teacher's forward KL to the base: how far the targets a learner is fitted to sit from what the
base model would say (RL's Razor's distance of the teacher), in nats per prompt.

For a teacher whose target distribution q(·|x) on a prompt x is known (a point mass on one target, a
mixture of an easy and a hard target, uniform over the correct answers):

    KL(q ‖ π0) = E_x Σ_y q(y|x) (log q(y|x) − log π0(y|x)) = E_x [ −H(q(·|x)) − E_{y~q} log π0(y|x) ],

with log π0(y|x) the base's log-probability of generating exactly y and then EOS after x (the sum of its
token log-probabilities). A point-mass teacher gives E_x[−log π0(y_x|x)].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def forward_kl(q: list[dict[str, float]], logp: list[dict[str, float]]) -> float:
    """Mean over prompts of Σ_y q(y) (log q(y) − logp[y]); ``q[i]`` sums to 1, ``logp[i]`` covers its support."""
    if not q:
        raise ValueError("forward_kl: no prompts")
    per = [sum(w * (math.log(w) - lp[y]) for y, w in qi.items() if w > 0) for qi, lp in zip(q, logp)]
    return sum(per) / len(per)


@torch.no_grad()
def completion_logprobs(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int = 64) -> list[float]:
    """log π(y|x) = Σ_t log π(y_t | x, y<t) over the tokens of y and one EOS, per (x, y) pair (x tokenized as
    for generation, y without special tokens)."""
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out: list[float] = []
    try:
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i:i + batch_size]
            seqs, starts = [], []
            for x, y in chunk:
                p = tokenizer(x)["input_ids"]
                c = tokenizer(y, add_special_tokens=False)["input_ids"] + ([eos] if eos is not None else [])
                seqs.append(p + c)
                starts.append(len(p))
            width = max(map(len, seqs))
            ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=dev)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=dev)
            logp = F.log_softmax(model(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
            for j, (s, a) in enumerate(zip(seqs, starts)):
                tok = torch.tensor(s[a:], device=dev)
                out.append(float(logp[j, a - 1:len(s) - 1].gather(-1, tok[:, None]).sum()))
    finally:
        model.train(was_training)
    return out
