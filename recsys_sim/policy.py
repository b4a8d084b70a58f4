"""The one policy model shared by every learner, and Plackett-Luce slates over it.

Scores over the catalogue: ``s_i(x) = <f(x), v_i> + c_i`` with a user tower f (linear, or a one
hidden-layer tanh MLP), item embeddings v_i and item biases c_i; items not in the catalogue get
``-inf``. The policy is ``pi(i | x) = softmax_i s_i(x)``.

A slate is an ordered draw of K distinct items without replacement (Plackett-Luce):

    P(s_1..s_K | x) = prod_k exp(s_{s_k}) / sum_{j not in s_<k} exp(s_j),

sampled exactly by Gumbel-top-K (the K largest of s_i + Gumbel noise, in order).
"""
from __future__ import annotations

import torch
from torch import nn

from recsys_sim.clicks import neg_gumbel


class PolicyModel(nn.Module):
    def __init__(self, n_features: int, n_items: int, dim: int, hidden: int = 0,
                 init_std: float = 0.1, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        layers: list[nn.Module] = []
        if hidden:
            layers += [nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, dim)]
        else:
            layers += [nn.Linear(n_features, dim)]
        self.user_tower = nn.Sequential(*layers)
        self.item_emb = nn.Parameter(torch.empty(n_items, dim))
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        with torch.no_grad():
            for layer in self.user_tower:
                if isinstance(layer, nn.Linear):
                    layer.weight.normal_(0.0, 1.0 / layer.in_features ** 0.5, generator=g)
                    layer.bias.zero_()
            self.item_emb.normal_(0.0, init_std, generator=g)

    def scores(self, features: torch.Tensor, available: torch.Tensor | None = None) -> torch.Tensor:
        """(U, N) scores; unavailable items are ``-inf``."""
        s = torch.addmm(self.item_bias, self.user_tower(features), self.item_emb.T)
        if available is None or bool(available.all()):
            return s
        return s.masked_fill(~available, float("-inf"))

    def log_probs(self, features: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        """log pi(i | x) over the available catalogue only: (U, N_available)."""
        return torch.log_softmax(self.scores(features)[:, available], -1)


def greedy_slates(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The deployed slate: the K highest scores, in decreasing order."""
    return torch.topk(scores, k, dim=-1).indices


def gumbel_topk(scores: torch.Tensor, k: int, generator: torch.Generator,
                n_samples: int | None = None, temperature: float = 1.0) -> torch.Tensor:
    """Exact Plackett-Luce samples of softmax(scores / temperature): (U, K), or (U, G, K)."""
    s = scores if temperature == 1.0 else scores / temperature
    if n_samples is not None:
        s = s.unsqueeze(1).expand(-1, n_samples, -1)
    return torch.topk(s - neg_gumbel(s.shape, generator), k, dim=-1).indices


def position_log_probs(scores: torch.Tensor, slates: torch.Tensor) -> torch.Tensor:
    """Per-position Plackett-Luce log-probs log pi(s_k | s_<k) = s_{s_k} - logsumexp_{j not in s_<k} s_j.

    ``scores`` (U, N), ``slates`` (U, K) -> (U, K), or (U, G, K) -> (U, G, K). The remaining-mass
    normaliser is a masked logsumexp (no 1 - cumsum cancellation for peaked policies).
    """
    squeeze = slates.dim() == 2
    if squeeze:
        slates = slates.unsqueeze(1)
    u, g, k = slates.shape
    s = scores.unsqueeze(1).expand(u, g, -1)
    chosen = torch.gather(s, 2, slates)                                     # (U, G, K)
    onehot = torch.nn.functional.one_hot(slates, s.shape[-1])              # (U, G, K, N)
    before = (onehot.cumsum(2) - onehot).to(torch.bool)                     # chosen at j < k
    rest = s.unsqueeze(2).masked_fill(before, float("-inf"))
    out = chosen - torch.logsumexp(rest, -1)
    return out.squeeze(1) if squeeze else out


def slate_log_prob(scores: torch.Tensor, slates: torch.Tensor) -> torch.Tensor:
    """Exact Plackett-Luce log P(slate) = sum_k log pi(s_k | s_<k) (``position_log_probs``).

    ``scores`` (U, N), ``slates`` (U, K) -> (U,), or (U, G, K) -> (U, G).
    """
    return position_log_probs(scores, slates).sum(-1)
