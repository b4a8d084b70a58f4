"""The Learner protocol: the only thing the continual loop (``forgetbench.loop.sequence``) talks to.

One implementation per domain: ``forgetbench.llm.learner.LLMLearner`` and
``recsys_sim.learner.RecsysLearner``. The loop owns ordering, checkpoints, resume and persistence;
a learner owns how to learn, evaluate and compare itself with its base.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Protocol

import torch


class Learner(Protocol):
    def eval_names(self) -> list[str]:
        """Columns of the accuracy matrix: every evaluated task / segment (prior skills included)."""

    def evaluate(self) -> dict[str, float]:
        """Accuracy in [0, 1] per name of ``eval_names()`` for the current model."""

    def train_stage(self, task: str, stage: int) -> dict[str, Any]:
        """Train one stage on ``task`` (stage numbering starts at 1); return training stats."""

    def parameters(self) -> Mapping[str, torch.Tensor]:
        """Current trainable weights (name -> tensor) for drift; may live on any device."""

    def divergences(self, task: str, old_tasks: list[str]) -> dict[str, float]:
        """At least ``new_task_forward_kl`` (on ``task``) and ``old_task_forward_kl`` (mean over
        ``old_tasks``) of the current model against the base."""

    def extras(self, task: str) -> dict[str, Any]:
        """Domain-specific per-stage measurements (e.g. recommender defects); may be ``{}``."""

    def save(self, path: Path) -> None:
        """Write a checkpoint directory from which ``load`` restores the learner exactly."""

    def load(self, path: Path) -> None:
        """Restore the state written by ``save``."""
