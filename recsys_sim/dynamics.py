"""Dynamics that let the recommender's loop feed back into the world (both off by default).

After each training round, from the slates that round showed (impressions, not clicks):

- exposure-driven popularity (``popularity_feedback`` = eta): every user's utility of item i moves
  by eta * (x_i - 1 / N_avail), x_i = item i's share of the round's impressions, N_avail the
  catalogue size; items shown more than uniformly gain, the others lose (rich get richer). It
  applies to every segment drawn so far, the evaluation users included: the world itself changed.
- boredom (``boredom`` = beta): a training user's utility of an item drops by beta per time it was
  shown to that user (satiation; the same users' tastes drift away from what they were shown).

With either on, a decline on an old cohort mixes forgetting with the world having moved, and each
learner's world differs (it depends on what it showed): the rows are scored against the current
world's oracle. The learner saves the segments' utilities in its checkpoints (``state``/``load``).
"""
from __future__ import annotations

import torch

from recsys_sim.env import RecsysEnv, Segment, segment_name
from recsys_sim.rollouts import Logged


def active(cfg) -> bool:
    return bool(cfg.popularity_feedback or cfg.boredom)


@torch.no_grad()
def feedback(env: RecsysEnv, seg: Segment, data: Logged, available: torch.Tensor) -> None:
    """Apply one round's feedback to the world in place (see the module docstring)."""
    cfg = env.cfg
    if not active(cfg):
        return
    slates = data.slates
    users = data.users.view(-1, *([1] * (slates.dim() - 1))).expand(slates.shape).reshape(-1)
    items = slates.reshape(-1)
    if cfg.popularity_feedback:
        for name in dict.fromkeys(segment_name(t) for t in cfg.stages):     # every segment moves
            env.segment(name), env.eval_segment(name)
        share = torch.bincount(items, minlength=env.n_items).float() / items.numel()
        delta = cfg.popularity_feedback * (share - 1.0 / float(available.sum())) * available
        for s in env._segments.values():
            s.utility += delta
    if cfg.boredom:
        seg.utility.index_put_((users, items), torch.full((items.numel(),), -cfg.boredom), accumulate=True)
    env._random_ctr.clear()


def state(env: RecsysEnv) -> dict:
    return {name: s.utility.clone() for name, s in env._segments.items()}


def load(env: RecsysEnv, saved: dict, segment_of) -> None:
    """Restore the segments' utilities (``segment_of(name)`` builds a segment by its name)."""
    for name, utility in saved.items():
        segment_of(name).utility = utility.clone()
    env._random_ctr.clear()
