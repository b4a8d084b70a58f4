"""On-policy learners that use every interaction: one sampled slate per user, a learned baseline,
PPO-style epochs over each round, and (``onpolicy_pos``) credit at the clicked position.

Data of a round (``collect``): n interactions, each a Plackett-Luce slate s of the current policy
for a sampled user u, one click draw, and the per-position rewards r_k = 1[click at position k]
(at most one is 1). The policy is frozen while the round is collected, so the per-position
log-probs lp_old,k = log pi_old(s_k | s_<k) are those of the round's policy.

Learned baseline (``ClickBaseline``): b_k(x_u) = sigmoid(w_k . x_u + c_k), the predicted click
probability at position k, fitted by BCE on the rewards of past rounds (it sees a round only after
that round's advantages are fixed, so b is independent of the rewards it centres). Advantages:

- ``onpolicy_pg`` (slate credit):    A = r - b(u) with r = sum_k r_k, b(u) = sum_k b_k(u);
- ``onpolicy_pos`` (position credit): A_k = r_k - b_k(u): the click is credited to the pick that
  was clicked, the non-clicked picks are pushed down by their expected click rate.

Losses (PPO clip, eps = ``clip_eps``; rho = 1 on a round's first epoch, the plain policy gradient):

- ``onpolicy_pg``:  -mean_u min(rho A, clip(rho, 1 +- eps) A),  rho = exp(sum_k lp_k - sum_k lp_old,k);
- ``onpolicy_pos``: -mean_u sum_k min(rho_k A_k, clip(rho_k, 1 +- eps) A_k),  rho_k = exp(lp_k - lp_old,k).

Both make ``epochs_per_round * ppo_epochs`` passes over each round (compute, not data: every
learner gets the same interactions).
"""
from __future__ import annotations

import torch
from torch import nn

from recsys_sim.env import RecsysEnv, Segment
from recsys_sim.policy import PolicyModel, position_log_probs
from recsys_sim.rollouts import Logged
from recsys_sim.sampler import SlateSampler

METHODS = ("onpolicy_pg", "onpolicy_pos")


class ClickBaseline(nn.Module):
    """b_k(x) = sigmoid(w_k . x + c_k): the expected click at each slate position for a user."""

    def __init__(self, n_features: int, slate_size: int):
        super().__init__()
        self.linear = nn.Linear(n_features, slate_size)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.fitted = False

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(features))

    def fit(self, features: torch.Tensor, rewards: torch.Tensor, steps: int, lr: float) -> float:
        """``steps`` full-batch Adam steps of BCE on per-position rewards (n, K); returns the loss."""
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        loss = torch.tensor(0.0)
        for _ in range(steps):
            loss = nn.functional.binary_cross_entropy_with_logits(self.linear(features), rewards)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        self.fitted = True
        return float(loss.detach())


def position_rewards(clicks: torch.Tensor, k: int) -> torch.Tensor:
    """r_k = 1[click at position k]: (n, K) from clicked positions (n,) (-1 = none)."""
    r = torch.zeros(clicks.shape[0], k)
    hit = clicks >= 0
    r[hit.nonzero().flatten(), clicks[hit]] = 1.0
    return r


def advantages(method: str, rewards: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """``onpolicy_pos``: A_k = r_k - b_k (n, K); ``onpolicy_pg``: A = sum_k r_k - sum_k b_k (n,)."""
    if method == "onpolicy_pos":
        return rewards - baseline
    return rewards.sum(-1) - baseline.sum(-1)


@torch.no_grad()
def collect(model: PolicyModel, env: RecsysEnv, seg: Segment, available: torch.Tensor, n: int,
            generator: torch.Generator, method: str, critic: ClickBaseline, fit_steps: int,
            fit_lr: float) -> Logged:
    """``n`` interactions (one own slate each) with per-position rewards, old log-probs and
    advantages; then the baseline is fitted on the round (after the advantages are fixed; on its
    very first round it is fitted first, so it starts at the round's click rates)."""
    users = torch.randint(seg.n_users, (n,), generator=generator).sort().values
    scores = model.scores(seg.features, available)
    slates = SlateSampler(scores).sample(users, env.cfg.slate_size, generator)
    clicks = env.sample_clicks(seg, slates, generator, users)
    rewards = position_rewards(clicks, env.cfg.slate_size)
    x = seg.features[users]
    with torch.enable_grad():
        if not critic.fitted:
            critic.fit(x, rewards, fit_steps, fit_lr)
        adv = advantages(method, rewards, critic(x).detach())
        critic.fit(x, rewards, fit_steps, fit_lr)
    return Logged(users, slates, clicks, reward=rewards, old_logp=position_log_probs(scores[users], slates),
                  advantage=adv)


def ppo_objective(ratio: torch.Tensor, adv: torch.Tensor, eps: float) -> torch.Tensor:
    """min(rho A, clip(rho, 1 - eps, 1 + eps) A), elementwise."""
    return torch.minimum(ratio * adv, ratio.clamp(1 - eps, 1 + eps) * adv)


def loss_policy_gradient(model, seg, d: Logged, cfg, available, ctx):
    """The loss of ``onpolicy_pg`` / ``onpolicy_pos`` (``ctx["method"]``) on a minibatch."""
    lp = position_log_probs(model.scores(seg.features[d.users], available), d.slates)   # (n, K)
    if ctx["method"] == "onpolicy_pos":
        return -ppo_objective(torch.exp(lp - d.old_logp), d.advantage, cfg.clip_eps).sum(-1).mean()
    ratio = torch.exp(lp.sum(-1) - d.old_logp.sum(-1))
    return -ppo_objective(ratio, d.advantage, cfg.clip_eps).mean()
