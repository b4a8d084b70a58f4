"""A replay window, as in production retraining on a sliding window of recent logs: each round a
learner trains on its new round's interactions plus those of its previous ``replay_rounds`` rounds,
across stage boundaries (so a new stage's first rounds still see the old segment's users). Every
learner gets the same window (counted in rounds), hence the same extra optimizer steps; a replayed
round keeps what was stored when it was collected (an on-policy learner's replayed slates, rewards
and old log-probs are then off-policy data, as in production).

Rows of different segments are joined into one table: ``features`` is the concatenation of the
segments' user features and each part's user indices are offset into it (the losses read only
``features[users]``).
"""
from __future__ import annotations

import dataclasses
from collections import deque
from types import SimpleNamespace

import torch

from recsys_sim.rollouts import Logged


def join(parts: list[tuple[str, torch.Tensor, Logged]]) -> tuple[SimpleNamespace, Logged]:
    """One table of ``(segment name, its features, its rows)`` parts: (an object with ``features``,
    the rows with their users offset)."""
    feats, rows, offset = [], [], 0
    for _, f, d in parts:
        feats.append(f)
        rows.append(dataclasses.replace(d, users=d.users + offset))
        offset += f.shape[0]
    fields = {}
    for field in dataclasses.fields(Logged):
        vals = [getattr(r, field.name) for r in rows]
        fields[field.name] = None if any(v is None for v in vals) else torch.cat(vals)
    return SimpleNamespace(features=torch.cat(feats)), Logged(**fields)


class ReplayWindow:
    def __init__(self, rounds: int):
        self.rounds = rounds
        self.past: deque = deque(maxlen=rounds or 1)

    def train_set(self, name: str, features: torch.Tensor, data: Logged):
        """(table with ``features``, rows) to train on this round: the window's rounds, then this one."""
        if not self.rounds or not self.past:
            return SimpleNamespace(features=features), data
        return join([*self.past, (name, features, data)])

    def push(self, name: str, features: torch.Tensor, data: Logged) -> None:
        if self.rounds:
            self.past.append((name, features, data))

    def state(self) -> list:
        return [(n, dataclasses.asdict(d)) for n, _, d in self.past]

    def load(self, state: list, features_of) -> None:
        self.past.clear()
        for n, d in state:
            self.past.append((n, features_of(n), Logged(**d)))
