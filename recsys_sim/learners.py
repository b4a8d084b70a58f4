"""The eight ways to learn one stage, and the warm start that builds the shared base policy.

Every method runs ``rounds_per_stage`` rounds; a round collects ``interactions_per_stage /
rounds_per_stage`` interactions (see ``rollouts``), then makes ``passes_per_round`` passes over
them in minibatches of ``batch_size`` interactions (Adam, one learning rate per method): with
``equal_steps`` every learner makes ``epochs_per_round * ppo_epochs`` (equal optimizer steps per
stage, recorded in the stage's ``train_stats``), else only the PPO-style ones do. Losses,
with pi(i|u) = softmax of the policy scores over the catalogue and only clicked rows where noted:

- ``ctr``       pointwise BCE on every logged impression: logit = s_i(x_u) + c, label = clicked,
                c a constant fixed at the stage's first round (``ctr_offset``; ranking-invariant).
- ``next_item`` -mean_{clicked} log pi(a|u)  (softmax cross-entropy on clicks: the SFT analogue).
- ``ips``       -mean_{clicked} min(pi(a|u)/beta(a|u), cap) * lambda_K(a|u) * log pi(a|u) with the
                top-K correction lambda_K = K (1 - pi(a|u))^(K-1) (Chen et al. 2019; pi detached).
- ``self_sup``  next-item loss on the learner's own Plackett-Luce slates (on-policy data,
                supervised loss).
- ``onpolicy``  GRPO: G slates per user, A_g = (r_g - mean r) / (std r + 1e-4) within the user's
                group, loss = -mean min(rho A, clip(rho, 1 +- eps) A) with rho = exp(log P(slate) -
                log P_old(slate)) (exact Plackett-Luce log-probs; rho = 1 on a round's first step)
                + kl_coef KL(pi || pi_stage_start) - entropy_bonus H(pi) (exact, over the catalogue).
- ``onpolicy_pg``, ``onpolicy_pos``  one own slate per interaction, a learned click baseline, PPO
                epochs; slate or clicked-position credit (``recsys_sim.policy_gradient``).
- ``offpolicy_pos`` ``onpolicy_pos``'s objective on the logs of the previous policy with capped
                importance weights and the top-K correction (``recsys_sim.off_policy_gradient``).
"""
from __future__ import annotations

import copy
from typing import Callable

import torch

from forgetbench.measures.divergence import categorical_kl
from recsys_sim import dynamics, off_policy_gradient, policy_gradient, rollouts
from recsys_sim.config import RecsysConfig
from recsys_sim.defects import entropy, top_category_share
from recsys_sim.env import RecsysEnv, Segment
from recsys_sim.policy import PolicyModel, slate_log_prob
from recsys_sim.replay import ReplayWindow
from recsys_sim.rollouts import Logged


def _clicked_log_probs(model: PolicyModel, seg: Segment, d: Logged, available: torch.Tensor):
    """log pi(a|u) for the clicked item a of each clicked interaction, and the clicked rows."""
    hit = d.clicks >= 0
    logp = torch.log_softmax(model.scores(seg.features[d.users[hit]], available), -1)
    item = torch.gather(d.slates[hit], 1, d.clicks[hit, None])
    return torch.gather(logp, 1, item).squeeze(1), hit


def _impressions(model, seg, d):
    """Scores of every logged impression (n, K) and their click labels (n, K)."""
    logits = torch.gather(model.scores(seg.features[d.users]), 1, d.slates)
    labels = torch.zeros_like(logits)
    hit = d.clicks >= 0
    labels[hit.nonzero().flatten(), d.clicks[hit]] = 1.0
    return logits, labels


@torch.no_grad()
def ctr_offset(model, seg, d) -> float:
    """Constant c with mean logit of the logged impressions + c = logit(logged click rate): puts
    the softmax-scaled scores on the BCE scale without a new parameter (ranking-invariant)."""
    logits, labels = _impressions(model, seg, d)
    y = labels.mean().clamp(1e-4, 1 - 1e-4)
    return float(torch.log(y / (1 - y)) - logits.mean())


def loss_ctr(model, seg, d, cfg, available, ctx):
    logits, labels = _impressions(model, seg, d)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits + ctx["offset"], labels)


def loss_next_item(model, seg, d, cfg, available, ctx):
    lp, _ = _clicked_log_probs(model, seg, d, available)
    return -lp.mean() if lp.numel() else None


def loss_ips(model, seg, d, cfg, available, ctx):
    lp, hit = _clicked_log_probs(model, seg, d, available)
    if not lp.numel():
        return None
    pi = lp.detach().exp()
    beta = torch.gather(d.propensity[hit], 1, d.clicks[hit, None]).squeeze(1)
    w = (pi / beta).clamp(max=cfg.ips_cap)
    lam = cfg.slate_size * (1 - pi).pow(cfg.slate_size - 1)
    return -(w * lam * lp).mean()


def loss_onpolicy(model, seg, d, cfg, available, ctx):
    x = seg.features[d.users]
    scores = model.scores(x, available)
    r = d.reward
    adv = (r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)
    ratio = torch.exp(slate_log_prob(scores, d.slates) - d.old_logp)
    clipped = ratio.clamp(1 - cfg.clip_eps, 1 + cfg.clip_eps)
    loss = -torch.minimum(ratio * adv, clipped * adv).mean()
    if cfg.kl_coef or cfg.entropy_bonus:
        p = torch.softmax(scores[:, available], -1)
        if cfg.kl_coef:
            with torch.no_grad():
                p_ref = torch.softmax(ctx["ref"].scores(x)[:, available], -1)
            loss = loss + cfg.kl_coef * categorical_kl(p, p_ref).mean()
        if cfg.entropy_bonus:
            loss = loss - cfg.entropy_bonus * entropy(p).mean()
    return loss


LOSSES: dict[str, Callable] = {"ctr": loss_ctr, "next_item": loss_next_item, "ips": loss_ips,
                               "self_sup": loss_next_item, "onpolicy": loss_onpolicy,
                               **{m: policy_gradient.loss_policy_gradient for m in policy_gradient.METHODS},
                               off_policy_gradient.METHOD: off_policy_gradient.loss_offpolicy_pos}
#: The learners with a learned click baseline and PPO epochs (``ppo_epochs`` passes per round).
PPO_STYLE = (*policy_gradient.METHODS, off_policy_gradient.METHOD)
COLLECT: dict[str, Callable] = {"ctr": rollouts.log_off_policy, "next_item": rollouts.log_off_policy,
                                "ips": rollouts.log_off_policy, "self_sup": rollouts.log_own_samples,
                                "onpolicy": rollouts.log_groups}


def _collect(method: str, critic, model, env, seg, available, n, generator) -> Logged:
    cfg = env.cfg
    if method == off_policy_gradient.METHOD:
        return off_policy_gradient.collect(model, env, seg, available, n, generator, critic,
                                           cfg.baseline_steps, cfg.baseline_lr)
    if method in policy_gradient.METHODS:
        return policy_gradient.collect(model, env, seg, available, n, generator, method, critic,
                                       cfg.baseline_steps, cfg.baseline_lr)
    return COLLECT[method](model, env, seg, available, n, generator)


def _top_share(env: RecsysEnv, seg: Segment, data: Logged) -> float:
    """The filter bubble of a round's shown slates: ``defects.top_category_share`` over its interactions."""
    slates = data.slates
    users = data.users.view(-1, *([1] * (slates.dim() - 2))).expand(slates.shape[:-1]).reshape(-1)
    return round(top_category_share(seg.interests[users], slates.reshape(-1, slates.shape[-1]),
                                    env.item_category), 6)


def passes_per_round(cfg: RecsysConfig, method: str) -> int:
    """Passes over each round's interactions: ``epochs_per_round * ppo_epochs`` for every learner
    with ``equal_steps`` (the same optimizer steps per stage), else only for the PPO-style ones."""
    ppo = cfg.equal_steps or method in PPO_STYLE
    return cfg.epochs_per_round * (cfg.ppo_epochs if ppo else 1)


def train_stage(model: PolicyModel, env: RecsysEnv, seg: Segment, method: str,
                available: torch.Tensor, generator: torch.Generator,
                critic: policy_gradient.ClickBaseline | None = None, replay: ReplayWindow | None = None) -> dict:
    """Run one stage of ``method`` on segment ``seg``; returns training stats. ``critic``: the
    learned click baseline of the PPO-style learners (kept by the learner); ``replay``: the
    learner's replay window (``replay_rounds``)."""
    replay = replay or ReplayWindow(0)
    cfg: RecsysConfig = env.cfg
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rates[method])
    ctx: dict = {"ref": copy.deepcopy(model).requires_grad_(False)
                 if method == "onpolicy" and cfg.kl_coef else None, "method": method}
    per_round = cfg.interactions_per_stage // cfg.rounds_per_stage
    unit = cfg.group_size if method == "onpolicy" else 1      # interactions per data row
    rows_per_step = max(1, cfg.batch_size // unit)
    epochs = passes_per_round(cfg, method)
    steps, clicks, shown, rows, losses, bubble = 0, 0.0, 0, 0, [], []
    for _ in range(cfg.rounds_per_stage):
        data = _collect(method, critic, model, env, seg, available, per_round, generator)
        if method == "ctr" and "offset" not in ctx:
            ctx["offset"] = ctr_offset(model, seg, data)
        clicks += float((data.clicks >= 0).sum())
        shown += data.n_interactions
        bubble.append(_top_share(env, seg, data))
        dynamics.feedback(env, seg, data, available)
        table, train = replay.train_set(seg.name, seg.features, data)
        replay.push(seg.name, seg.features, data)
        rows += len(train)
        for _ in range(epochs):
            order = torch.randperm(len(train), generator=generator)
            for idx in order.split(rows_per_step):
                loss = LOSSES[method](model, table, train.take(idx), cfg, available, ctx)
                if loss is None:
                    continue
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps += 1
                losses.append(float(loss.detach()))
    return {"interactions": shown, "logged_ctr": clicks / max(shown, 1), "steps": steps,
            "passes_per_round": epochs, "equal_steps": cfg.equal_steps, "rows_trained": rows,
            "top_category_share_rounds": bubble,
            "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None}


def warm_start(model: PolicyModel, env: RecsysEnv, available: torch.Tensor, seed: int) -> dict:
    """The base policy: next-item cross-entropy on ``warmup_interactions`` uniformly-random slates
    shown to ``env.warm_segment`` (cohort A; in the OBD world the first stage's campaign) on the
    initial catalogue, ``warmup_steps`` full-batch Adam steps. Deterministic in the seed; identical
    for every method of that seed. A short warm start leaves partial, spread-out competence (as the
    LLM base has)."""
    cfg = env.cfg
    if not cfg.warmup_interactions:
        return {"interactions": 0}
    g = torch.Generator().manual_seed(seed * 104729 + 3)
    seg = env.segment(env.warm_segment)
    data = rollouts.log_uniform(env, seg, available, cfg.warmup_interactions, g)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.warmup_lr)
    for _ in range(cfg.warmup_steps):
        loss = loss_next_item(model, seg, data, cfg, available, None)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {"interactions": cfg.warmup_interactions, "loss_last": float(loss.detach())}
