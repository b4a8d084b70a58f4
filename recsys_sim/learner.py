"""``RecsysLearner``: the recommender domain's implementation of ``forgetbench.loop.learner.Learner``.

- Base policy (row 0): the policy built deterministically from the seed (random init, then a short
  next-item warm start on uniformly-random slates shown to cohort A; see ``learners.warm_start``).
  Every method of a seed starts from this same policy in the same world.
- Catalogue: the base categories, plus the categories of every segment trained so far. When it
  grows, the new items' policy biases start at the mean bias of the existing items (cold start, not
  0), in the learner and in the reference base policy alike. Every segment is evaluated on the
  current catalogue (the oracle too), so a segment whose items do not exist yet is scored on what
  exists.
- ``evaluate``: per segment, exact CTR of the greedy top-K slate / exact CTR of the oracle slate
  (mean over the segment's users of each, then the ratio), in [0, 1].
- ``divergences``: exact categorical divergences over the current catalogue between the base
  pi_0(.|u) and the current pi(.|u), averaged over a segment's users: forward KL(pi_0 || pi),
  reverse KL(pi || pi_0), total variation; ``new_task_*`` on the trained segment, ``old_task_*``
  averaged over old segments (None when there are none). Units: nats per user.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
from pathlib import Path
from typing import Any, Mapping

import torch

from forgetbench.errors import ForgetbenchError
from forgetbench.measures.divergence import categorical_kl, categorical_reverse_kl, total_variation
from recsys_sim import defects, dynamics, learners
from recsys_sim.policy_gradient import ClickBaseline
from recsys_sim.config import METHODS, RecsysConfig
from recsys_sim.env import segment_name
from recsys_sim.obd_env import make_env
from recsys_sim.policy import PolicyModel, greedy_slates
from recsys_sim.replay import ReplayWindow

CHECKPOINT = "recsys_learner.pt"


class RecsysLearner:
    def __init__(self, cfg: RecsysConfig, method: str, seed: int):
        if method not in METHODS:
            close = difflib.get_close_matches(method, METHODS, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ForgetbenchError(f"recsys: unknown method {method!r} (known: {', '.join(METHODS)}){hint}")
        self.cfg, self.method, self.seed = cfg, method, seed
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        self.env = make_env(cfg, seed)
        self._names = list(dict.fromkeys(segment_name(s) for s in cfg.stages))
        self.trained: list[str] = []
        self.model = PolicyModel(self.env.n_features, self.env.n_items, cfg.policy_dim or cfg.dim,
                                 cfg.user_hidden, cfg.init_std, seed)
        self.warm_stats = learners.warm_start(self.model, self.env, self.available, seed)
        self.base = copy.deepcopy(self.model).requires_grad_(False)
        self.critic = ClickBaseline(self.env.n_features, cfg.slate_size)   # onpolicy_pg / _pos only
        self.generator = torch.Generator().manual_seed(seed * 1_000_003 + 7)
        self.replay = ReplayWindow(cfg.replay_rounds)

    # ---- catalogue -------------------------------------------------------------------------
    @property
    def available(self) -> torch.Tensor:
        return self.env.available_items(self.trained)

    def _grow_catalogue(self, name: str) -> None:
        old, new = self.available, self.env.available_items(self.trained + [name])
        fresh = new & ~old
        if fresh.any():
            with torch.no_grad():
                for m in (self.model, self.base):
                    m.item_bias[fresh] = m.item_bias[old].mean()

    # ---- Learner protocol ------------------------------------------------------------------
    def eval_names(self) -> list[str]:
        return list(self._names)

    def supersedes(self) -> dict[str, str]:
        """Rotated segment -> its cohort's old segment (scored as adaptation, not forgetting)."""
        return self.env.supersedes(self._names)

    def _eval(self, task: str):
        """The segment's evaluation users (held out from training with ``heldout_users``)."""
        return self.env.eval_segment(task)

    @torch.no_grad()
    def greedy(self, task: str) -> torch.Tensor:
        """The deployed slates of the current policy for a segment's evaluation users: (U, K)."""
        seg = self._eval(task)
        return greedy_slates(self.model.scores(seg.features, self.available), self.cfg.slate_size)

    def ctr(self, task: str) -> float:
        """Exact mean CTR of the greedy slates on a segment's evaluation users."""
        return float(self.env.slate_ctr(self._eval(task), self.greedy(task)).mean())

    def oracle_catalogue(self, task: str) -> torch.Tensor:
        """The catalogue a segment's oracle picks from: the current one, or (``oracle_catalogue: own``)
        the current one plus the segment's own categories (what exists once it is trained)."""
        if self.cfg.oracle_catalogue == "own":
            return self.env.available_items(self.trained + [segment_name(task)])
        return self.available

    def oracle_ctr(self, task: str) -> float:
        return self.env.oracle_ctr(self._eval(task), self.oracle_catalogue(task))

    def evaluate(self) -> dict[str, float]:
        return {n: min(1.0, self.ctr(n) / self.oracle_ctr(n)) for n in self._names}

    def random_ratio(self) -> dict[str, float]:
        """Uniform-random policy CTR / oracle CTR per segment on the current catalogue."""
        avail = self.available
        return {n: self.env.random_ctr(self._eval(n), avail) / self.oracle_ctr(n) for n in self._names}

    def train_stage(self, task: str, stage: int) -> dict[str, Any]:
        name = segment_name(task)
        self._grow_catalogue(name)
        avail = self.env.available_items(self.trained + [name])
        stats = learners.train_stage(self.model, self.env, self.env.segment(name), self.method,
                                     avail, self.generator, self.critic, self.replay)
        self.trained.append(name)
        return stats

    def parameters(self) -> Mapping[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.named_parameters()}

    def base_parameters(self) -> Mapping[str, torch.Tensor]:
        """The base policy's weights (new items' biases cold-started like the learner's), so drift
        measures what was learned, not the catalogue growth."""
        return {k: v.detach().clone() for k, v in self.base.named_parameters()}

    @torch.no_grad()
    def _segment_divergences(self, task: str) -> tuple[float, float, float]:
        seg, avail = self._eval(task), self.available
        p0 = torch.softmax(self.base.scores(seg.features)[:, avail], -1)
        p = torch.softmax(self.model.scores(seg.features)[:, avail], -1)
        return (float(categorical_kl(p0, p).mean()), float(categorical_reverse_kl(p0, p).mean()),
                float(total_variation(p0, p).mean()))

    def divergences(self, task: str, old_tasks: list[str]) -> dict[str, float | None]:
        new = self._segment_divergences(task)
        olds = list(dict.fromkeys(segment_name(t) for t in old_tasks))
        per_old = [self._segment_divergences(t) for t in olds]
        old = [sum(v[i] for v in per_old) / len(per_old) if per_old else None for i in range(3)]
        return {"new_task_forward_kl": new[0], "old_task_forward_kl": old[0],
                "new_task_reverse_kl": new[1], "old_task_reverse_kl": old[1],
                "new_task_tv": new[2], "old_task_tv": old[2]}

    @torch.no_grad()
    def defects(self, task: str, oracle: bool = False) -> dict[str, float]:
        """Defect metrics of the greedy slates on a segment's users (see ``recsys_sim.defects``);
        ``oracle=True``: of the oracle slates instead (the reference; no policy entropy)."""
        env, cfg, avail = self.env, self.cfg, self.available
        seg = self._eval(task)
        slates = env.oracle_slates(seg, avail) if oracle else self.greedy(task)
        out = defects.slate_defects(slates, avail, env.item_emb, env.organic_choice(seg, avail), seg.interests,
                                    env.item_category, cfg.calibration_alpha, cfg.max_pair_users,
                                    cfg.minor_interest)
        if not oracle:
            probs = torch.softmax(self.model.scores(seg.features)[:, avail], -1)
            out["entropy"] = float(defects.entropy(probs).mean())
        return out

    def extras(self, task: str) -> dict[str, Any]:
        """``defects`` (greedy slates) and ``defects_oracle`` (oracle slates, the reference) on the
        stage's users; per segment ``random_ratio``, exact ``ctr`` and ``oracle_ctr``; in the OBD
        world also ``click_model`` (the fit and its cross-validated log-loss)."""
        world = {"click_model": self.env.click_model_summary()} if self.cfg.world == "obd" else {}
        policy, oracle = self.defects(task), self.defects(task, oracle=True)
        return {**world, "defects": {**policy, **defects.excess_over_oracle(policy, oracle)},
                "defects_oracle": oracle,
                "random_ratio": self.random_ratio(),
                "ctr": {n: self.ctr(n) for n in self._names},
                "oracle_ctr": {n: self.oracle_ctr(n) for n in self._names}}

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        torch.save({"method": self.method, "seed": self.seed, "config": dataclasses.asdict(self.cfg),
                    "model": self.model.state_dict(), "base": self.base.state_dict(),
                    "trained": list(self.trained), "generator": self.generator.get_state(),
                    "critic": self.critic.state_dict(), "critic_fitted": self.critic.fitted,
                    **({"replay": self.replay.state()} if self.cfg.replay_rounds else {}),
                    **({"world": dynamics.state(self.env)} if dynamics.active(self.cfg) else {})},
                   path / CHECKPOINT)

    def load(self, path: Path) -> None:
        file = Path(path) / CHECKPOINT
        if not file.is_file():
            raise ForgetbenchError(f"recsys: no checkpoint at {file}")
        state = torch.load(file, weights_only=False)
        if (state["method"], state["seed"]) != (self.method, self.seed):
            raise ForgetbenchError(f"recsys: checkpoint {file} is for method {state['method']!r} seed "
                                   f"{state['seed']}, not {self.method!r} seed {self.seed}")
        self.model.load_state_dict(state["model"])
        self.base.load_state_dict(state["base"])
        self.trained = list(state["trained"])
        self.critic.load_state_dict(state["critic"])
        self.critic.fitted = state["critic_fitted"]
        self.generator.set_state(state["generator"])
        self.replay.load(state.get("replay", []), lambda n: self.env.segment(n).features)
        dynamics.load(self.env, state.get("world", {}),
                      lambda n: self.env.eval_segment(n[:-8]) if n.endswith("#heldout") else self.env.segment(n))


def make_learner(section: dict | None, method: str, seed: int) -> RecsysLearner:
    """Build a learner from the ``recsys:`` section of a suite config (None = defaults)."""
    return RecsysLearner(RecsysConfig.from_dict(section), method, seed)


def default_stages(section: dict | None) -> list[str]:
    """The training stages (segment names) of a ``recsys:`` section; default
    ``["cohort_a", "cohort_b", "cohort_a_rotated"]``."""
    return list(RecsysConfig.from_dict(section).stages)


__all__ = ["METHODS", "RecsysLearner", "default_stages", "make_learner"]
