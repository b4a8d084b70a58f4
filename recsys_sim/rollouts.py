"""Collecting interactions: which slates are shown, and what the users click.

An *interaction* is one user shown one slate (and at most one click). Every learner gets the same
number per round; an on-policy group of G slates for a user counts as G interactions.

Logging policies (the deployed policy of the off-policy learners, a frozen copy of the learner's
policy at the start of the round, i.e. as of the end of the previous round):

- ``epsilon``: with probability eps the slate is uniformly random, else the greedy top-K. Per-item
  propensity (share of the slate) beta(i|u) = (1 - eps) 1[i in greedy top-K] / K + eps / N_avail,
  which is exactly P(i in slate | u) / K.
- ``boltzmann``: a Plackett-Luce sample of softmax(s / T); beta(i|u) = softmax(s / T)_i (the
  first-draw probability, the propensity used by Chen et al. 2019).

On-policy data (``self_sup``, ``onpolicy``): Plackett-Luce samples of the current policy at T = 1.

The policy is frozen while a round is collected, so every segment user is scored once per round
and slates are drawn from cached per-user CDFs (``sampler.SlateSampler``, exact Plackett-Luce).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from recsys_sim.clicks import uniform_slates
from recsys_sim.env import RecsysEnv, Segment
from recsys_sim.policy import PolicyModel, greedy_slates, slate_log_prob
from recsys_sim.sampler import SlateSampler


@dataclass
class Logged:
    """Interactions of one round. ``slates`` (n, K) or (n, G, K) for on-policy groups; ``clicks``
    the clicked position (-1 none); ``propensity`` beta of each slate item (n, K) (off-policy);
    ``reward`` (n, G) and ``old_logp`` (n, G) for on-policy groups; for single own slates
    (``policy_gradient``) ``reward`` and ``old_logp`` are per position (n, K) and ``advantage``
    (n, K) or (n,)."""

    users: torch.Tensor
    slates: torch.Tensor
    clicks: torch.Tensor
    propensity: torch.Tensor | None = None
    reward: torch.Tensor | None = None
    old_logp: torch.Tensor | None = None
    advantage: torch.Tensor | None = None
    weight: torch.Tensor | None = None     # offpolicy_pos: capped importance weight per position (n, K)

    def __len__(self) -> int:
        return self.users.shape[0]

    def take(self, idx: torch.Tensor) -> "Logged":
        pick = lambda t: None if t is None else t[idx]  # noqa: E731
        return Logged(self.users[idx], self.slates[idx], self.clicks[idx], pick(self.propensity),
                      pick(self.reward), pick(self.old_logp), pick(self.advantage), pick(self.weight))

    @property
    def n_interactions(self) -> int:
        return self.slates[..., 0].numel()


@torch.no_grad()
def log_off_policy(model: PolicyModel, env: RecsysEnv, seg: Segment, available: torch.Tensor,
                   n: int, generator: torch.Generator) -> Logged:
    """``n`` interactions of the exploration-wrapped deployed policy, with propensities."""
    cfg = env.cfg
    users = torch.randint(seg.n_users, (n,), generator=generator).sort().values
    scores = model.scores(seg.features, available)                  # every user, once per round
    k, n_avail = cfg.slate_size, int(available.sum())
    if cfg.logging_policy == "epsilon":
        greedy = greedy_slates(scores, k)[users]
        explore = torch.rand(n, generator=generator) < cfg.logging_epsilon
        slates = greedy.clone()
        slates[explore] = uniform_slates(int(explore.sum()), k, available, generator)
        in_greedy = (slates.unsqueeze(-1) == greedy.unsqueeze(1)).any(-1).float()
        prop = (1 - cfg.logging_epsilon) * in_greedy / k + cfg.logging_epsilon / n_avail
    else:
        sampler = SlateSampler(scores, cfg.logging_temperature)
        slates = sampler.sample(users, k, generator)
        prop = sampler.probs(users, slates)
    clicks = env.sample_clicks(seg, slates, generator, users)
    return Logged(users, slates, clicks, propensity=prop)


@torch.no_grad()
def log_own_samples(model: PolicyModel, env: RecsysEnv, seg: Segment, available: torch.Tensor,
                    n: int, generator: torch.Generator) -> Logged:
    """``n`` interactions, each a Plackett-Luce sample of the current policy (self_sup data)."""
    users = torch.randint(seg.n_users, (n,), generator=generator).sort().values
    sampler = SlateSampler(model.scores(seg.features, available))
    slates = sampler.sample(users, env.cfg.slate_size, generator)
    return Logged(users, slates, env.sample_clicks(seg, slates, generator, users))


@torch.no_grad()
def log_groups(model: PolicyModel, env: RecsysEnv, seg: Segment, available: torch.Tensor,
               n: int, generator: torch.Generator) -> Logged:
    """``n`` interactions as n / G users x G sampled slates, with rewards and old log-probs.

    Reward: ``sampled`` = 1 if the one sampled click happened, else 0 (the same signal the
    off-policy learners get); ``exact`` = the slate's exact CTR (noise-free, privileged).
    """
    cfg = env.cfg
    g = cfg.group_size
    users = torch.randint(seg.n_users, (n // g,), generator=generator).sort().values
    all_scores = model.scores(seg.features, available)
    slates = SlateSampler(all_scores).sample(users, cfg.slate_size, generator, n_samples=g)  # (m, G, K)
    scores = all_scores[users]
    clicks = env.sample_clicks(seg, slates, generator, users)                   # (m, G)
    if cfg.onpolicy_reward == "exact":
        reward = env.slate_ctr(seg, slates, users)
    else:
        reward = (clicks >= 0).float()
    return Logged(users, slates, clicks, reward=reward, old_logp=slate_log_prob(scores, slates))


@torch.no_grad()
def log_uniform(env: RecsysEnv, seg: Segment, available: torch.Tensor, n: int,
                generator: torch.Generator) -> Logged:
    """``n`` interactions of the uniformly random slate policy (the warm-start data)."""
    users = torch.randint(seg.n_users, (n,), generator=generator).sort().values
    slates = uniform_slates(n, env.cfg.slate_size, available, generator)
    return Logged(users, slates, env.sample_clicks(seg, slates, generator, users))
