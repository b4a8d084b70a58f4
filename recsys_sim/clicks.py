"""Click model: a multinomial logit over the slate with a no-click option and position bias.

For a user with item utilities ``u_i``, a slate ``s`` of K items (position p = 0..K-1) and position
offsets ``b_p`` (decreasing in p),

    P(click item at position p | slate) = exp(u_{s_p} + b_p) / (exp(u_0) + sum_q exp(u_{s_q} + b_q)),
    P(no click | slate)                 = exp(u_0)          / (exp(u_0) + sum_q exp(u_{s_q} + b_q)),

so the slate click-through rate has the closed form ``CTR = sigmoid(logsumexp_q(u_{s_q} + b_q) - u_0)``
and evaluation needs no sampling. All functions take a utility matrix ``(U, N)`` and are vectorised
over users.
"""
from __future__ import annotations

import math

import torch


def position_offsets(k: int, position_bias: float) -> torch.Tensor:
    """``b_p = -position_bias * log2(1 + p)`` for p = 0..K-1 (0 at the top, DCG-like decay)."""
    p = torch.arange(k, dtype=torch.float32)
    return -position_bias * torch.log2(1.0 + p)


def slate_logits(utility: torch.Tensor, slates: torch.Tensor, offsets: torch.Tensor,
                 users: torch.Tensor | None = None) -> torch.Tensor:
    """``u_{s_p} + b_p`` for each slate position. ``slates`` (B, K) or (B, G, K); row b of the
    slates belongs to utility row ``users[b]`` (default: row b)."""
    if users is None:
        users = torch.arange(slates.shape[0])
    return utility[users.view(-1, *([1] * (slates.dim() - 1))), slates] + offsets


def slate_ctr(utility: torch.Tensor, slates: torch.Tensor, offsets: torch.Tensor,
              no_click_utility: float, users: torch.Tensor | None = None) -> torch.Tensor:
    """Exact P(any click | slate) = sigmoid(logsumexp_p(u_{s_p} + b_p) - u_0), per slate."""
    z = slate_logits(utility, slates, offsets, users)
    return torch.sigmoid(torch.logsumexp(z, -1) - no_click_utility)


def neg_gumbel(shape, generator: torch.Generator) -> torch.Tensor:
    """log(-log U), U ~ Uniform(0, 1): minus a standard Gumbel draw (in-place chain, one buffer)."""
    return torch.rand(shape, generator=generator).clamp_min_(1e-20).log_().neg_().log_()


def sample_clicks(utility: torch.Tensor, slates: torch.Tensor, offsets: torch.Tensor,
                  no_click_utility: float, generator: torch.Generator,
                  users: torch.Tensor | None = None) -> torch.Tensor:
    """One draw of the click model per slate: the clicked position in 0..K-1, or -1 for no click.

    Gumbel-max over the K + 1 logits ``[u_0, u_{s_0} + b_0, ..., u_{s_{K-1}} + b_{K-1}]``.
    """
    z = slate_logits(utility, slates, offsets, users)
    z = torch.cat([torch.full_like(z[..., :1], no_click_utility), z], -1)
    return torch.argmax(z - neg_gumbel(z.shape, generator), -1) - 1


def oracle_slates(utility: torch.Tensor, k: int, available: torch.Tensor | None = None) -> torch.Tensor:
    """The CTR-maximising slate: the K highest-utility available items, sorted descending.

    Why it is optimal: CTR = A / (exp(u_0) + A) increases with A = sum_p w_p a_{s_p}, where
    a_i = exp(u_i) > 0 and w_p = exp(b_p) is non-increasing in p. For a fixed item set, the
    rearrangement inequality puts the largest a on the largest w (sorted descending); swapping any
    chosen item for an unchosen one with larger a raises A because every w_p > 0. Hence top-K sorted
    by utility. (Brute-forced over all ordered slates of a tiny catalogue in the tests.)
    """
    if available is not None:
        utility = utility.masked_fill(~available, float("-inf"))
    return torch.topk(utility, k, dim=-1).indices


def uniform_slates(n_users: int, k: int, available: torch.Tensor, generator: torch.Generator,
                   n_slates: int | None = None) -> torch.Tensor:
    """Uniformly random ordered slates of K distinct available items (Gumbel-top-K of zeros).

    Shape (U, K), or (U, S, K) when ``n_slates`` is given.
    """
    n = available.shape[-1]
    shape = (n_users, n) if n_slates is None else (n_users, n_slates, n)
    keys = torch.rand(shape, generator=generator).masked_fill_(~available, -1.0)
    return torch.topk(keys, k, dim=-1).indices


def random_policy_ctr(utility: torch.Tensor, offsets: torch.Tensor, no_click_utility: float,
                      available: torch.Tensor, n_slates: int, generator: torch.Generator) -> torch.Tensor:
    """Expected CTR of the uniformly random slate policy, per user.

    A Monte-Carlo average over ``n_slates`` random slates per user, each scored with the *exact*
    slate CTR (the only randomness is which slates; no click sampling). The exact expectation would
    sum over N!/(N-K)! ordered slates; with U users the standard error of the population mean is
    about sd(CTR) / sqrt(U * n_slates).
    """
    k = offsets.shape[0]
    slates = uniform_slates(utility.shape[0], k, available, generator, n_slates)
    return slate_ctr(utility, slates, offsets, no_click_utility).mean(-1)


def exact_random_ctr_bruteforce(utility: torch.Tensor, offsets: torch.Tensor,
                                no_click_utility: float) -> torch.Tensor:
    """Exact random-policy CTR by enumerating every ordered slate (tests only; tiny N)."""
    import itertools

    n, k = utility.shape[-1], offsets.shape[0]
    slates = torch.tensor(list(itertools.permutations(range(n), k)))
    total = torch.zeros(utility.shape[0])
    for chunk in slates.split(4096):
        total += slate_ctr(utility, chunk.expand(utility.shape[0], -1, -1), offsets,
                           no_click_utility).sum(-1)
    return total / math.perm(n, k)
