"""The OBD world (``world: obd``): a semi-synthetic recommender calibrated on the Open Bandit Dataset.

- Catalogue: the campaigns' items concatenated (men's 34, then women's 46: 80 items; ids and
  hashed features of the campaigns cannot be matched, so they are disjoint catalogues). An item's
  category is its campaign. The initial catalogue is the first stage's campaign; a stage's campaign
  joins when it is trained (as the synthetic world's new categories do).
- Segments = campaigns: a segment's users are ``users_per_cohort`` logged user contexts drawn
  (seeded, without replacement) from that campaign's random-policy logs — the site's visitors of
  that campaign, with their real features. Old segments keep their users and their utilities.
- Click model (``obd_clicks``, fitted on the random logs): a user's utility for item i is the
  fitted per-impression logit u_ui = c_campaign(i) + k d_i + w . x_u, plus
  ``obd_cross_campaign_logit`` when i belongs to another campaign than the user's segment (an
  assumption: no campaign's logs show its users another campaign's items). Slates follow the same
  multinomial logit as the synthetic world with no-click utility u_0 = 0, so
  P(click at p | slate) = e^{z_p} / (1 + sum_q e^{z_q}), z_p = u_{s_p} + b_p, which equals the
  fitted sigmoid(z_p) to within ~1.5% relative at these CTRs (sum_q e^{z_q} ~ 0.014), and the
  slate CTR is exact: sigmoid(logsumexp_p z_p).
- Positions: b_p are the fitted position offsets sorted in decreasing order, i.e. the slate's
  k-th ranked item is shown at the k-th most clicked OBD position (``rank_positions``); then the
  oracle is the top-K by utility (``clicks.oracle_slates``'s argument holds).
- Policy features x_u: one-hot of ``user_feature_0..3``; interests (for calibration and long-tail
  defects): the user's organic choice softmax(u_u.) summed per campaign; item embeddings (for
  intra-list diversity): ``item_feature_0`` and one-hots of ``item_feature_1..3``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim import obd_clicks, obd_data
from recsys_sim.config import OBD_SEGMENTS, RecsysConfig
from recsys_sim.env import RecsysEnv, Segment, segment_name


@lru_cache(maxsize=4)
def fitted_model(campaigns: tuple[str, ...]) -> obd_clicks.ObdClickModel:
    """The click model of ``campaigns`` (fitted once per process; deterministic)."""
    return obd_clicks.fit(campaigns)


def item_embeddings(campaigns: tuple[str, ...]) -> torch.Tensor:
    """[item_feature_0, one-hot item_feature_1..3] per item (vocabularies per campaign)."""
    blocks = [obd_data.load_items("random", c) for c in campaigns]
    cols = [np.concatenate([b["item_feature_0"].to_numpy() for b in blocks])[:, None]]
    for f in ("item_feature_1", "item_feature_2", "item_feature_3"):
        values = sorted({(i, v) for i, b in enumerate(blocks) for v in b[f]})
        index = {v: j for j, v in enumerate(values)}
        rows = [index[(i, v)] for i, b in enumerate(blocks) for v in b[f]]
        cols.append(np.eye(len(values))[rows])
    return torch.tensor(np.concatenate(cols, 1), dtype=torch.float32)


class ObdEnv(RecsysEnv):
    def __init__(self, cfg: RecsysConfig, seed: int):
        self.cfg, self.seed = cfg, seed
        self.campaigns = tuple(dict.fromkeys(segment_name(s) for s in cfg.stages))
        if any(c not in OBD_SEGMENTS for c in self.campaigns):
            raise ForgetbenchError(f"recsys: world obd has segments {', '.join(OBD_SEGMENTS)}; "
                                   f"got stages {cfg.stages}")
        self.warm_segment = self.campaigns[0]
        self.click_model = fitted_model(self.campaigns)
        self.item_category = self.click_model.item_campaign.clone()
        self.n_items, self.n_features = int(self.item_category.shape[0]), self.click_model.n_features
        self.n_categories = len(self.campaigns)
        self.item_emb = item_embeddings(self.campaigns)
        order = torch.argsort(self.click_model.position.float(), descending=True, stable=True)
        self.rank_positions = (order + 1).tolist()        # OBD position (1..3) of rank 1..3
        self.offsets = self.click_model.position.float()[order]
        self.no_click_utility = 0.0
        self._segments: dict[str, Segment] = {}
        self._random_ctr: dict[tuple, float] = {}

    def segment(self, task: str) -> Segment:
        name = segment_name(task)
        if name not in self.campaigns:
            raise ForgetbenchError(f"recsys: segment {task!r} is not a stage of this OBD world "
                                   f"(stages: {', '.join(self.campaigns)})")
        if name not in self._segments:
            c = self.campaigns.index(name)
            logs = obd_data.load_logs("random", name)
            rng = np.random.default_rng([self.seed, 2020, c])
            rows = rng.choice(len(logs), min(self.cfg.users_per_cohort, len(logs)), replace=False)
            features = self.click_model.encode_users(logs.iloc[np.sort(rows)])
            cross = (self.item_category != c).float() * self.cfg.obd_cross_campaign_logit
            utility = self.click_model.item_logit(features) + cross
            choice = torch.softmax(utility, -1)
            interests = torch.zeros(features.shape[0], self.n_categories).index_add_(1, self.item_category, choice)
            self._segments[name] = Segment(name=name, features=features, interests=interests, utility=utility,
                                           categories=torch.arange(self.n_categories) == c)
        return self._segments[name]

    def available_items(self, trained: list[str]) -> torch.Tensor:
        """The first stage's campaign's items, plus those of every campaign trained so far."""
        cats = torch.zeros(self.n_categories, dtype=torch.bool)
        cats[0] = True
        for t in trained:
            cats |= self.segment(t).categories
        return cats[self.item_category]

    def click_model_summary(self) -> dict:
        """The fit as reported in ``results.json`` extras: spec, parameters, CV log-losses."""
        m = self.click_model
        return {"spec": m.spec, "cv_logloss": dict(m.cv), "campaigns": list(m.campaigns),
                "level": m.level.tolist(), "slope": m.slope, "position": m.position.tolist(),
                "rank_positions": self.rank_positions, "cross_campaign_logit": self.cfg.obd_cross_campaign_logit}


def make_env(cfg: RecsysConfig, seed: int) -> RecsysEnv:
    """The world of ``cfg.world``."""
    return ObdEnv(cfg, seed) if cfg.world == "obd" else RecsysEnv(cfg, seed)
