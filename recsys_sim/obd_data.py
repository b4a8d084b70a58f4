"""The Open Bandit Dataset (OBD) samples shipped inside the ``obp`` wheel, read without importing obp.

``pip install --no-deps obp`` (Open Bandit Pipeline 0.4.1; its own dependency pins are old, and
nothing here imports it) installs ``obp/dataset/obd/{random,bts}/{all,men,women}/`` with, per
(logging policy, campaign), ``<campaign>.csv`` (10,000 logged impressions of ZOZOTOWN's fashion
e-commerce site, 2019-11-24 .. 11-30) and ``item_context.csv``; and ``obp/policy/conf/prior_bts.yaml``,
the Beta(alpha, beta) per item of the production Bernoulli Thompson Sampling policy.

Logs (``load_logs``), one row = one impression of one item at one slate position:

- ``timestamp`` (str, UTC), ``item_id`` (int, 0..n_items-1 *within the campaign*),
- ``position`` (int, 1..3: the slate slot), ``click`` (int, 0/1),
- ``propensity_score`` (float): P(item at that position) under the logging policy; 1/n_items for
  ``random`` (uniform), the BTS action probability for ``bts``,
- ``user_feature_0..3`` (str): hashed categorical user features (the same hashes in every campaign),
- ``user-item_affinity_0..n_items-1`` (int): past user-item interaction counts (>0 in ~0.1%).

Items (``load_items``): ``item_id``, ``item_feature_0`` (float, standardised within the campaign),
``item_feature_1..3`` (str, hashed categoricals; hashed per campaign, so the men's, women's and all
campaigns' item ids and features cannot be matched: the campaigns are disjoint catalogues here).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from forgetbench.errors import ForgetbenchError

POLICIES = ("random", "bts")
CAMPAIGNS = ("all", "men", "women")
USER_FEATURES = tuple(f"user_feature_{k}" for k in range(4))
INSTALL = "pip install --no-deps obp"


def obp_root() -> Path:
    """The installed ``obp`` package directory (found by importlib, not imported)."""
    spec = importlib.util.find_spec("obp")
    if spec is None or not spec.submodule_search_locations:
        raise ForgetbenchError(f"recsys: the Open Bandit Dataset needs the obp wheel, which is not "
                               f"installed; install it with: {INSTALL}")
    return Path(list(spec.submodule_search_locations)[0])


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ForgetbenchError("recsys: reading the Open Bandit Dataset needs pandas; install it "
                               "with: pip install -e '.[obd]'") from None
    return pandas


def _check(policy: str, campaign: str) -> None:
    if policy not in POLICIES:
        raise ForgetbenchError(f"recsys: unknown OBD logging policy {policy!r} (known: {', '.join(POLICIES)})")
    if campaign not in CAMPAIGNS:
        raise ForgetbenchError(f"recsys: unknown OBD campaign {campaign!r} (known: {', '.join(CAMPAIGNS)})")


def _csv(path: Path):
    if not path.is_file():
        raise ForgetbenchError(f"recsys: OBD file {path} is missing; reinstall with: {INSTALL}")
    df = _pandas().read_csv(path)
    return df.drop(columns=[c for c in df.columns if c.startswith("Unnamed")])


@lru_cache(maxsize=None)
def _logs(policy: str, campaign: str):
    _check(policy, campaign)
    return _csv(obp_root() / "dataset" / "obd" / policy / campaign / f"{campaign}.csv")


def load_logs(policy: str, campaign: str):
    """The logged impressions of ``policy`` in ``campaign`` as a pandas DataFrame (a copy)."""
    return _logs(policy, campaign).copy()


def load_items(policy: str, campaign: str):
    """The campaign's ``item_context.csv`` as a DataFrame sorted by ``item_id``."""
    _check(policy, campaign)
    df = _csv(obp_root() / "dataset" / "obd" / policy / campaign / "item_context.csv")
    return df.sort_values("item_id").reset_index(drop=True)


def load_bts_prior(campaign: str) -> tuple[list[float], list[float]]:
    """(alpha, beta) per item of the production BTS policy's Beta prior for ``campaign``."""
    import yaml

    _check("bts", campaign)
    path = obp_root() / "policy" / "conf" / "prior_bts.yaml"
    if not path.is_file():
        raise ForgetbenchError(f"recsys: {path} is missing; reinstall with: {INSTALL}")
    prior = yaml.safe_load(path.read_text())[campaign]
    return [float(a) for a in prior["alpha"]], [float(b) for b in prior["beta"]]


def n_items(campaign: str) -> int:
    return len(load_items("random", campaign))
