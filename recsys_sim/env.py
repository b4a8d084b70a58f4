"""The simulated world: a catalogue in categories, user cohorts, segments (distribution shifts).

- Categories c = 0..C-1 have centres mu_c (orthonormal when dim >= C). Item i of category c(i) has
  true embedding e_i = mu_c(i) + item_noise * xi_i / sqrt(dim) and a quality/popularity bias
  b_i ~ N(0, item_bias_std^2). The last ``new_categories`` categories exist only from the stage of
  the first segment that needs them (cohort B); before that they are not in the catalogue.
- A user has interests p_u over categories (Dirichlet(alpha * m_cohort)), taste t_u = sum_c p_uc mu_c
  and true utility u_ui = utility_scale * <t_u, e_i> + b_i. The policy only sees noisy features
  x_u = p_u + feature_noise * eps_u.
- Cohort A: m uniform over the base categories. Cohort B: ``cohort_b_new_share`` of m uniform over
  the new categories, the rest over the base ones. Cohort C: broad tastes, m uniform over every
  category with total mass ``cohort_c_concentration`` (large: every user likes a bit of everything,
  so item quality b_i weighs more than taste — a mainstream audience).
- Cohorts are fixed once drawn: a later stage never changes an earlier cohort's users or tastes, so
  a decline on an old cohort is forgetting.
- Cohort D (conflicting tastes): OTHER users drawn as cohort A's are (same features' law) whose
  tastes are A's rotation (below) of their interests: a policy cannot serve A and D at once from the
  features, so learning one costs the other — interference that each cohort alone does not have.
  Not superseding anything (its own users); ``cohort_d`` is a segment of its own.
- Segment ``<cohort>_rotated``: the same users with interests rolled over the base categories,
  p' = (1 - s) p + s roll(p, shift). Features stay the old ones (concept drift: same users, new
  tastes) unless ``rotate_features`` (then x = p' + the same noise: a covariate shift). Training a
  rotated segment *supersedes* its cohort's old segment (``RecsysEnv.supersedes``): the old tastes
  are stale, so losing them is adaptation (``superseded_given_up``), not forgetting.

The world depends only on (config, seed): every method of a seed sees the same world.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim import clicks
from recsys_sim.config import OBD_SEGMENTS, SEGMENTS, RecsysConfig


@dataclass
class Segment:
    """One evaluation / training population: features (U, C), interests (U, C), utility (U, N)."""

    name: str
    features: torch.Tensor
    interests: torch.Tensor
    utility: torch.Tensor
    categories: torch.Tensor  # bool (C,): categories this segment's users can be interested in

    @property
    def n_users(self) -> int:
        return self.features.shape[0]


def segment_name(task: str) -> str:
    """Strip a repeat suffix (``cohort_a@2`` -> ``cohort_a``) and check the name."""
    name = task.split("@")[0]
    if name not in SEGMENTS + OBD_SEGMENTS:
        raise ForgetbenchError(f"recsys: unknown segment {task!r} (known: {', '.join(SEGMENTS + OBD_SEGMENTS)})")
    return name


class RecsysEnv:
    warm_segment = "cohort_a"        # the segment of the warm start's uniform slates

    def __init__(self, cfg: RecsysConfig, seed: int):
        self.cfg = cfg
        self.seed = seed
        self.no_click_utility = cfg.no_click_utility
        self.n_features, self.n_items = cfg.n_categories, cfg.n_items
        rng = np.random.default_rng([seed, 1234])
        C, D, N = cfg.n_categories, cfg.dim, cfg.n_items
        if D >= C:
            q, _ = np.linalg.qr(rng.standard_normal((D, C)))
            centres = q.T
        else:
            centres = rng.standard_normal((C, D))
            centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        self.item_category = torch.arange(N) // cfg.items_per_category
        noise = rng.standard_normal((N, D)) * cfg.item_noise / np.sqrt(D)
        self.centres = torch.tensor(centres, dtype=torch.float32)
        self.item_emb = self.centres[self.item_category] + torch.tensor(noise, dtype=torch.float32)
        self.item_bias = torch.tensor(rng.standard_normal(N) * cfg.item_bias_std, dtype=torch.float32)
        self.offsets = clicks.position_offsets(cfg.slate_size, cfg.position_bias)
        self._cohorts = {c: self._draw_cohort(rng, c) for c in ("a", "b")}
        # drawn after A and B from a generator of its own, so adding it changed neither of them
        self._cohorts["c"] = self._draw_cohort(np.random.default_rng([seed, 1234, 3]), "c")
        self._cohorts["d"] = self._draw_cohort(np.random.default_rng([seed, 1234, 4]), "d")   # idem
        self._segments: dict[str, Segment] = {}
        self._random_ctr: dict[tuple, float] = {}

    # ---- construction -------------------------------------------------------------------------
    def cohort_measure(self, cohort: str) -> np.ndarray:
        """Dirichlet base measure m over categories (sums to 1)."""
        cfg = self.cfg
        m = np.zeros(cfg.n_categories)
        m[: cfg.base_categories] = 1.0 / cfg.base_categories
        if cohort == "b" and cfg.new_categories:
            m *= 1.0 - cfg.cohort_b_new_share
            m[cfg.base_categories:] = cfg.cohort_b_new_share / cfg.new_categories
        if cohort == "c":
            m = np.full(cfg.n_categories, 1.0 / cfg.n_categories)
        return m

    def _draw_cohort(self, rng: np.random.Generator, cohort: str,
                     n_users: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        n = n_users or cfg.users_per_cohort
        m = self.cohort_measure(cohort)
        support = m > 0
        p = np.zeros((n, cfg.n_categories))
        alpha = cfg.cohort_c_concentration if cohort == "c" else cfg.interest_concentration
        p[:, support] = rng.dirichlet(alpha * m[support], n)
        eps = rng.standard_normal(p.shape) * cfg.feature_noise
        return p, eps

    def segment(self, task: str) -> Segment:
        """The segment's training users (and, without ``heldout_users``, its evaluation users)."""
        name = segment_name(task)
        if name not in SEGMENTS:
            raise ForgetbenchError(f"recsys: segment {task!r} needs world: obd (known here: {', '.join(SEGMENTS)})")
        if name not in self._segments:
            self._segments[name] = self._make_segment(name, *self._cohorts[name[7]])
        return self._segments[name]

    def eval_segment(self, task: str) -> Segment:
        """The users a segment is evaluated on: with ``heldout_users`` > 0, that many users of the
        same cohort drawn apart (a generator of their own; never in any training log), named
        ``<segment>#heldout``; else the training users."""
        if not self.cfg.heldout_users:
            return self.segment(task)
        name = segment_name(task)
        self.segment(name)                       # validates the name
        key = name + "#heldout"
        if key not in self._segments:
            cohort = name[7]
            rng = np.random.default_rng([self.seed, 1234, 50 + "abcd".index(cohort)])
            self._segments[key] = self._make_segment(name, *self._draw_cohort(rng, cohort, self.cfg.heldout_users),
                                                     label=key)
        return self._segments[key]

    def _make_segment(self, name: str, p: np.ndarray, eps: np.ndarray, label: str | None = None) -> Segment:
        cfg = self.cfg
        base_p = p
        rotated = name.endswith("_rotated") or name == "cohort_d"
        if rotated:
            cb = cfg.base_categories
            p = p.copy()
            p[:, :cb] = ((1 - cfg.rotation_strength) * p[:, :cb]
                         + cfg.rotation_strength * np.roll(p[:, :cb], cfg.rotation_shift, axis=1))
        feat_p = p if (not rotated or cfg.rotate_features) else base_p
        interests = torch.tensor(p, dtype=torch.float32)
        taste = interests @ self.centres
        return Segment(
            name=label or name,
            features=torch.tensor(feat_p + eps, dtype=torch.float32),
            interests=interests,
            utility=cfg.utility_scale * taste @ self.item_emb.T + self.item_bias,
            categories=torch.tensor(self.cohort_measure(name[7]) > 0),
        )

    @staticmethod
    def supersedes(names: list[str]) -> dict[str, str]:
        """``{"cohort_a_rotated": "cohort_a", ...}`` for the rotated segments among ``names`` whose
        cohort's old segment is evaluated too: the same users, new tastes."""
        return {n: n.removesuffix("_rotated") for n in names
                if n.endswith("_rotated") and n.removesuffix("_rotated") in names}

    def available_items(self, trained: list[str]) -> torch.Tensor:
        """Catalogue (bool (N,)) after training ``trained``: base categories plus the categories of
        every segment trained so far."""
        cats = torch.zeros(self.cfg.n_categories, dtype=torch.bool)
        cats[: self.cfg.base_categories] = True
        for t in trained:
            cats |= self.segment(t).categories
        return cats[self.item_category]

    # ---- click model on a segment -----------------------------------------------------------
    def _utility(self, seg: Segment | str, users: torch.Tensor | None) -> torch.Tensor:
        seg = self.segment(seg) if isinstance(seg, str) else seg
        return seg.utility if users is None else seg.utility[users]

    def slate_ctr(self, seg, slates: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        """Exact CTR of each slate (see ``clicks.slate_ctr``); slates (U, K) or (U, G, K), row b
        shown to the segment's user ``users[b]`` (default: user b)."""
        return clicks.slate_ctr(self._utility(seg, None), slates, self.offsets,
                                self.no_click_utility, users)

    def sample_clicks(self, seg, slates: torch.Tensor, generator: torch.Generator,
                      users: torch.Tensor | None = None) -> torch.Tensor:
        """Clicked position per slate (-1 = no click), one draw of the click model."""
        return clicks.sample_clicks(self._utility(seg, None), slates, self.offsets,
                                    self.no_click_utility, generator, users)

    def oracle_slates(self, seg, available: torch.Tensor, users: torch.Tensor | None = None) -> torch.Tensor:
        return clicks.oracle_slates(self._utility(seg, users), self.cfg.slate_size, available)

    def oracle_ctr(self, seg, available: torch.Tensor) -> float:
        """Mean over the segment's users of the oracle slate's exact CTR."""
        return float(self.slate_ctr(seg, self.oracle_slates(seg, available)).mean())

    def random_ctr(self, seg, available: torch.Tensor) -> float:
        """Mean CTR of the uniform random policy (Monte-Carlo over slates, exact CTR per slate;
        deterministic: the generator is seeded from the world seed)."""
        seg = self.segment(seg) if isinstance(seg, str) else seg
        key = (seg.name, tuple(available.nonzero().flatten().tolist()))
        if key not in self._random_ctr:
            g = torch.Generator().manual_seed(self.seed * 7919 + 11)
            self._random_ctr[key] = float(clicks.random_policy_ctr(
                seg.utility, self.offsets, self.no_click_utility, available,
                self.cfg.random_slates, g).mean())
        return self._random_ctr[key]

    def organic_choice(self, seg, available: torch.Tensor) -> torch.Tensor:
        """Each user's choice distribution over the whole available catalogue, softmax(u_ui): the
        'history' a user would build without a recommender (U, N)."""
        u = self._utility(seg, None).masked_fill(~available, float("-inf"))
        return torch.softmax(u, -1)
