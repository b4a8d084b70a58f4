"""The OBD world's click model, fitted on the *random*-policy logs (uniform logging: unbiased).

Per impression of item i (global id) at OBD position p (1..3) to a user with one-hot features x:

    logit P(click) = c_{campaign(i)} + k * d_i + b_p + w . x,      b_1 = 0,

with d_i = logit(m_i) - mean_{j in campaign(i)} logit(m_j) the item's contrast from the production
BTS policy's Beta prior (m_i = alpha_i / (alpha_i + beta_i), ``obp/policy/conf/prior_bts.yaml``:
click statistics of the full ZOZOTOWN logs, shipped with the dataset). Why not free item
intercepts: the 10,000-row random sample has ~46 clicks per campaign (~1.4 per item), and its
per-item click counts are as dispersed as binomial noise around one CTR; no item (or user x item)
term fitted on it beats a constant CTR on held-out rows (see ``cv_table``). So the item contrasts
come from the prior and the random logs fit the few remaining parameters: levels c, slope k,
optionally the position offsets b and user main effects w (L2 ``USER_L2``).

Which terms: ``fit(..., spec="auto")`` picks the spec in ``SPECS`` with the lowest 5-fold
cross-validated log-loss (mean BCE per held-out row); the constant-CTR baseline's is reported next to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from recsys_sim import obd_data

SPECS = {"items": (False, False), "items+position": (True, False),
         "items+users": (False, True), "items+position+users": (True, True)}
USER_L2 = 10.0
FOLDS = 5


@dataclass
class ObdClickModel:
    campaigns: tuple[str, ...]
    item_campaign: torch.Tensor          # (N,) index into campaigns
    contrast: torch.Tensor               # (N,) d_i
    vocab: list[list[str]]               # per user feature, its sorted values (one-hot order)
    spec: str = "items"
    level: torch.Tensor = None           # (C,) c
    slope: float = 1.0                   # k
    position: torch.Tensor = None        # (3,) b_1..b_3 (b_1 = 0)
    user_weight: torch.Tensor = None     # (F,) w
    cv: dict = field(default_factory=dict)   # spec -> 5-fold CV log-loss; "constant" too

    @property
    def n_features(self) -> int:
        return sum(len(v) for v in self.vocab)

    def encode_users(self, df) -> torch.Tensor:
        """One-hot of ``user_feature_0..3`` (unknown values: all zero): (n, F) float32."""
        x = np.zeros((len(df), self.n_features), dtype=np.float32)
        col = 0
        for name, values in zip(obd_data.USER_FEATURES, self.vocab):
            index = df[name].map({v: j for j, v in enumerate(values)})
            known = index.notna().to_numpy()
            x[np.nonzero(known)[0], col + index[known].to_numpy(dtype=int)] = 1.0
            col += len(values)
        return torch.from_numpy(x)

    def item_logit(self, features: torch.Tensor) -> torch.Tensor:
        """c_{campaign(i)} + k d_i + w . x: (U, N) for users (U, F), position offsets not included."""
        base = self.level[self.item_campaign] + self.slope * self.contrast
        return (features.double() @ self.user_weight)[:, None].float() + base.float()

    def impression_logit(self, features: torch.Tensor, items: torch.Tensor, positions: torch.Tensor):
        """Per-impression logit; ``positions`` 1..3 as logged."""
        return self.item_logit(features).gather(1, items[:, None]).squeeze(1) + self.position[positions - 1].float()


def build(campaigns: tuple[str, ...]) -> ObdClickModel:
    """The unfitted model: global item ids (campaigns' items concatenated in ``campaigns`` order),
    prior contrasts, and the user vocabulary of both logging policies' logs."""
    contrast, camp, vocab = [], [], [set() for _ in obd_data.USER_FEATURES]
    for c, name in enumerate(campaigns):
        alpha, beta = (np.array(v) for v in obd_data.load_bts_prior(name))
        lg = np.log(alpha / (alpha + beta)) - np.log(beta / (alpha + beta))
        contrast.append(lg - lg.mean())
        camp.append(np.full(len(lg), c))
        for policy in obd_data.POLICIES:
            logs = obd_data._logs(policy, name)
            for v, f in zip(vocab, obd_data.USER_FEATURES):
                v.update(logs[f].unique())
    return ObdClickModel(tuple(campaigns), torch.tensor(np.concatenate(camp)),
                         torch.tensor(np.concatenate(contrast)), [sorted(v) for v in vocab])


def random_logs(model: ObdClickModel):
    """The random-policy logs of the model's campaigns with a global ``item`` column."""
    import pandas as pd

    parts, start = [], 0
    for name in model.campaigns:
        df = obd_data.load_logs("random", name)
        df["item"] = df["item_id"] + start
        df["campaign"] = name
        start += obd_data.n_items(name)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def _tensors(model: ObdClickModel, df):
    return (model.encode_users(df).double(), torch.tensor(df["item"].to_numpy()),
            torch.tensor(df["position"].to_numpy()), torch.tensor(df["click"].to_numpy(), dtype=torch.float64))


def _fit_params(model, x, item, pos, y, use_pos: bool, use_users: bool) -> dict:
    """Maximum likelihood (L-BFGS, float64) of c, k, and if asked b_2, b_3 and w (+ USER_L2 |w|^2)."""
    C, F = len(model.campaigns), x.shape[1]
    p = {"c": torch.full((C,), math.log(max(float(y.mean()), 1e-4))), "k": torch.ones(1),
         "b": torch.zeros(2), "w": torch.zeros(F)}
    p = {n: v.double().requires_grad_(n == "c" or n == "k" or (n == "b" and use_pos) or (n == "w" and use_users))
         for n, v in p.items()}
    ic, d = model.item_campaign[item], model.contrast[item]

    def logit():
        b = torch.cat([torch.zeros(1, dtype=torch.float64), p["b"]])
        return p["c"][ic] + p["k"] * d + b[pos - 1] + x @ p["w"]

    params = [v for v in p.values() if v.requires_grad]
    opt = torch.optim.LBFGS(params, max_iter=200, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logit(), y, reduction="sum")
        loss = loss + USER_L2 * (p["w"] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return {n: v.detach() for n, v in p.items()}


def _apply(model: ObdClickModel, spec: str, params: dict) -> ObdClickModel:
    model.spec, model.level, model.slope = spec, params["c"], float(params["k"])
    model.position = torch.cat([torch.zeros(1, dtype=torch.float64), params["b"]])
    model.user_weight = params["w"]
    return model


def cv_table(model: ObdClickModel, df, seed: int = 0) -> dict[str, float]:
    """5-fold cross-validated log-loss (mean BCE per held-out row) of every spec and of the
    constant CTR (the training folds' click rate); the folds are a seeded permutation of rows."""
    x, item, pos, y = _tensors(model, df)
    folds = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)).chunk(FOLDS)
    out: dict[str, list[float]] = {s: [] for s in (*SPECS, "constant")}
    for k, test in enumerate(folds):
        train = torch.cat([f for j, f in enumerate(folds) if j != k])
        rate = y[train].mean()
        out["constant"].append(float(-(y[test] * rate.log() + (1 - y[test]) * (1 - rate).log()).mean()))
        for spec, (use_pos, use_users) in SPECS.items():
            fitted = _apply(model, spec, _fit_params(model, x[train], item[train], pos[train], y[train],
                                                     use_pos, use_users))
            z = fitted.impression_logit(x[test].float(), item[test], pos[test]).double()
            out[spec].append(float(torch.nn.functional.binary_cross_entropy_with_logits(z, y[test])))
    return {s: float(np.mean(v)) for s, v in out.items()}


def fit(campaigns: tuple[str, ...], spec: str = "auto") -> ObdClickModel:
    """Fit on every random-policy row of ``campaigns``; ``auto``: the spec with the lowest CV log-loss."""
    model = build(campaigns)
    df = random_logs(model)
    model.cv = cv_table(model, df)
    if spec == "auto":
        spec = min(SPECS, key=lambda s: model.cv[s])
    x, item, pos, y = _tensors(model, df)
    return _apply(model, spec, _fit_params(model, x, item, pos, y, *SPECS[spec]))


def item_ctr_check(model: ObdClickModel, df) -> dict[str, np.ndarray | float]:
    """Per item of the logs: observed clicks o_i, expected e_i = sum of the model's click
    probabilities over the item's logged rows, impressions n_i, and the Pearson statistic
    X^2 = sum_i (o_i - e_i)^2 / (e_i (1 - e_i / n_i)), ~ chi^2(n_items) if the model is right."""
    x, item, pos, y = _tensors(model, df)
    prob = torch.sigmoid(model.impression_logit(x.float(), item, pos).double())
    n_all = int(model.item_campaign.shape[0])
    o = torch.bincount(item, weights=y, minlength=n_all).numpy()
    e = torch.bincount(item, weights=prob, minlength=n_all).numpy()
    n = torch.bincount(item, minlength=n_all).numpy().astype(float)
    seen = n > 0
    var = e[seen] * (1 - e[seen] / n[seen])
    return {"observed": o[seen], "expected": e[seen], "impressions": n[seen],
            "chi2": float(((o[seen] - e[seen]) ** 2 / var).sum()), "dof": int(seen.sum())}


def chi2_quantile(q_z: float, dof: int) -> float:
    """Wilson-Hilferty: the chi^2(dof) quantile at standard-normal quantile ``q_z``."""
    a = 2.0 / (9.0 * dof)
    return dof * (1.0 - a + q_z * math.sqrt(a)) ** 3
