"""``offpolicy_pos``: ``onpolicy_pos``'s clicked-position policy gradient on the LOGS of the previous
policy (the off-policy learners' data), with capped importance weights and the top-K correction.

Data of a round (``collect``): the ``log_off_policy`` interactions of the deployed policy (the
policy frozen at the round's start, wrapped in ``logging_policy``: epsilon-greedy or Boltzmann),
with per-item propensities beta(i|u) (``rollouts``), per-position rewards r_k = 1[click at k], the
round's per-position Plackett-Luce log-probs lp_old,k = log pi_old(s_k | s_<k), and advantages
A_k = r_k - b_k(u) from the same learned click baseline as ``onpolicy_pos`` (fitted on the logs).

Weight of position k (fixed at collection; pi_old(i|u) = softmax of the round's scores, the
first-draw probability, the same quantity as beta for a Boltzmann logger at T = 1):

    w_k = min(pi_old(s_k|u) / beta(s_k|u), ips_cap) * lambda_K(s_k|u),
    lambda_K(i|u) = K (1 - pi_old(i|u))^(K-1)   (top-K correction, Chen et al. 2019;
                                                 ``offpolicy_topk: false`` sets lambda = 1).

Loss on a minibatch of n interactions, with o_k = min(rho_k A_k, clip(rho_k, 1 +- eps) A_k) and
rho_k = exp(lp_k - lp_old,k) (1 on a round's first step), as ``onpolicy_pos``:

- ``offpolicy_estimator: ips``    L = -(1/n) sum_n sum_k w_nk o_nk;
- ``offpolicy_estimator: snips``  L = -sum_k (sum_n w_nk o_nk) / (sum_n w_nk)  (self-normalised per
  position).

With the logging policy equal to the current one (beta = pi, no top-K factor) every w is 1 and both
are exactly ``onpolicy_pos``'s loss, gradient included (tests/test_recsys_off_policy_gradient.py).
"""
from __future__ import annotations

import torch

from recsys_sim import rollouts
from recsys_sim.env import RecsysEnv, Segment
from recsys_sim.policy import PolicyModel, position_log_probs
from recsys_sim.policy_gradient import ClickBaseline, advantages, position_rewards, ppo_objective
from recsys_sim.rollouts import Logged

METHOD = "offpolicy_pos"
ESTIMATORS = ("ips", "snips")


def importance_weights(pi: torch.Tensor, beta: torch.Tensor, k: int, cap: float, topk: bool) -> torch.Tensor:
    """w = min(pi / beta, cap) * (K (1 - pi)^(K-1) if topk else 1), elementwise."""
    w = (pi / beta).clamp(max=cap)
    return w * k * (1 - pi).pow(k - 1) if topk else w


@torch.no_grad()
def collect(model: PolicyModel, env: RecsysEnv, seg: Segment, available: torch.Tensor, n: int,
            generator: torch.Generator, critic: ClickBaseline, fit_steps: int, fit_lr: float) -> Logged:
    """``n`` logged interactions of the deployed policy with rewards, old log-probs, advantages and
    weights; the baseline is then fitted on the round (first round: fitted first, as ``onpolicy_pos``)."""
    cfg = env.cfg
    d = rollouts.log_off_policy(model, env, seg, available, n, generator)
    scores = model.scores(seg.features, available)[d.users]
    pi = torch.gather(torch.softmax(scores, -1), 1, d.slates)
    rewards = position_rewards(d.clicks, cfg.slate_size)
    x = seg.features[d.users]
    with torch.enable_grad():
        if not critic.fitted:
            critic.fit(x, rewards, fit_steps, fit_lr)
        adv = advantages("onpolicy_pos", rewards, critic(x).detach())
        critic.fit(x, rewards, fit_steps, fit_lr)
    d.reward, d.old_logp, d.advantage = rewards, position_log_probs(scores, d.slates), adv
    d.weight = importance_weights(pi, d.propensity, cfg.slate_size, cfg.ips_cap, cfg.offpolicy_topk)
    return d


def loss_offpolicy_pos(model, seg, d: Logged, cfg, available, ctx):
    """The loss above on a minibatch (``cfg.offpolicy_estimator`` picks IPS or SNIPS)."""
    lp = position_log_probs(model.scores(seg.features[d.users], available), d.slates)   # (n, K)
    obj = d.weight * ppo_objective(torch.exp(lp - d.old_logp), d.advantage, cfg.clip_eps)
    if cfg.offpolicy_estimator == "snips":
        return -(obj.sum(0) / d.weight.sum(0).clamp_min(1e-12)).sum()
    return -obj.sum(-1).mean()
