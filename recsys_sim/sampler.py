"""Fast exact Plackett-Luce slates from per-user CDFs cached once per policy version.

Within a round the deployed policy is frozen, so each user's categorical pi(.|u) = softmax(s_u / T)
is computed once (O(N) per user); every interaction then costs O(K^2 + K log(U N)), not O(N):

- draw k picks from pi restricted to the items not yet chosen: t ~ U(0, R_k) with remaining mass
  R_k = 1 - sum_{j<k} pi(c_j); t is mapped back to the full CDF by skipping the chosen intervals
  (ascending by start: if t >= start_j then t += pi(c_j)), and the item is the first i with
  CDF_u(i) > t. That is sequential sampling without replacement, i.e. exactly Plackett-Luce, the
  same law as Gumbel-top-K (``policy.gumbel_topk``).
- All users' CDFs sit in one sorted float64 array (row u offset by u), so one ``searchsorted``
  serves a batch of users. Items with pi < ~1e-13 cannot be resolved in float64 (probability mass
  below 1e-13 per item); a draw that lands on an impossible item through round-off is redone by
  Gumbel-top-K for that row.
"""
from __future__ import annotations

import torch

from recsys_sim.policy import gumbel_topk


class SlateSampler:
    def __init__(self, scores: torch.Tensor, temperature: float = 1.0):
        """``scores`` (U, N) with ``-inf`` for items outside the catalogue."""
        self.scores, self.temperature = scores, temperature
        self.n_users, self.n_items = scores.shape
        p = torch.softmax(scores.double() / temperature, -1)
        cdf = p.cumsum(-1)
        cdf = cdf / cdf[:, -1:]
        self.p = p.flatten()
        self.cdf = cdf.flatten()
        self.flat = (cdf + torch.arange(self.n_users, dtype=torch.float64)[:, None]).flatten()

    def probs(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """pi(item | user) (float32), broadcasting ``users`` over the trailing dims of ``items``."""
        u = users.view(-1, *([1] * (items.dim() - 1)))
        return self.p[u * self.n_items + items].float()

    def sample(self, users: torch.Tensor, k: int, generator: torch.Generator,
               n_samples: int | None = None) -> torch.Tensor:
        """Slates (B, K) for users (B,), or (B, G, K) with ``n_samples`` = G slates per user.
        Sorted ``users`` are fastest (cache-friendly searches)."""
        g = 1 if n_samples is None else n_samples
        rows = users.repeat_interleave(g) if g > 1 else users
        r = rows.shape[0]
        base = rows * self.n_items
        offset = rows.double()
        rem = torch.ones(r, dtype=torch.float64)
        out = torch.empty(r, k, dtype=torch.long)
        starts = torch.empty(r, k, dtype=torch.float64)
        widths = torch.empty(r, k, dtype=torch.float64)
        bad = torch.zeros(r, dtype=torch.bool)
        for j in range(k):
            t = torch.rand(r, generator=generator, dtype=torch.float64).mul_(rem)
            if j:
                st, order = starts[:, :j].sort(1)
                w = widths[:, :j].gather(1, order)
                for q in range(j):
                    t += w[:, q] * (t >= st[:, q])
            item = torch.searchsorted(self.flat, t.add_(offset), right=True).sub_(base)
            bad |= (item < 0) | (item >= self.n_items)
            item.clamp_(0, self.n_items - 1)
            pi = self.p[base + item]
            bad |= pi <= 0
            if j:
                bad |= (out[:, :j] == item[:, None]).any(1)
            out[:, j] = item
            widths[:, j] = pi
            starts[:, j] = self.cdf[base + item] - pi
            rem -= pi
        if bad.any():
            out[bad] = gumbel_topk(self.scores[rows[bad]], k, generator, temperature=self.temperature)
        return out if n_samples is None else out.view(users.shape[0], g, k)
