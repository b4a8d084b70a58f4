"""Recommender defect metrics on a set of recommended slates (pure functions, tensors in).

``slates`` is (U, K) item indices; ``available`` a bool (N,) catalogue mask.
"""
from __future__ import annotations

import torch

from forgetbench.measures.divergence import categorical_kl


def exposure_counts(slates: torch.Tensor, n_items: int) -> torch.Tensor:
    """e_i = number of slates item i appears in."""
    return torch.bincount(slates.flatten(), minlength=n_items).float()


def exposure_gini(slates: torch.Tensor, available: torch.Tensor) -> float:
    """Gini of the exposure over the available items: G = sum_i sum_j |e_i - e_j| / (2 n sum_i e_i),
    computed as sum_i (2i - n - 1) e_(i) / (n sum e) with e ascending, i = 1..n.
    0 = every item equally exposed; (n - 1)/n = one item takes all exposure."""
    e = exposure_counts(slates, available.shape[0])[available].sort().values
    n = e.shape[0]
    i = torch.arange(1, n + 1, dtype=torch.float32)
    return float(((2 * i - n - 1) * e).sum() / (n * e.sum()))


def coverage(slates: torch.Tensor, available: torch.Tensor) -> float:
    """Share of the available catalogue recommended to at least one user."""
    e = exposure_counts(slates, available.shape[0])[available]
    return float((e > 0).float().mean())


def intra_list_diversity(slates: torch.Tensor, item_emb: torch.Tensor) -> float:
    """ILD = mean_u 1/(K(K-1)) sum_{i != j in slate_u} (1 - cos(e_i, e_j))."""
    e = torch.nn.functional.normalize(item_emb[slates], dim=-1)          # (U, K, D)
    k = slates.shape[1]
    dist = 1 - e @ e.transpose(1, 2)                                      # (U, K, K), 0 on diag
    return float((dist.sum((1, 2)) / (k * (k - 1))).mean())


def popularity_lift(slates: torch.Tensor, item_popularity: torch.Tensor, profile: torch.Tensor) -> float:
    """Delta GAP (Abdollahpouri et al. 2019): (GAP_rec - GAP_profile) / GAP_profile with
    GAP_rec = mean_u mean_{i in slate_u} pop(i) and GAP_profile = mean_u sum_i w_ui pop(i), where
    w_u is user u's history as a distribution over items (rows of ``profile`` sum to 1).
    > 0: recommendations are more popular than what users consume on their own."""
    gap_rec = item_popularity[slates].mean()
    gap_profile = (profile * item_popularity).sum(-1).mean()
    return float((gap_rec - gap_profile) / gap_profile)


def category_distribution(slates: torch.Tensor, item_category: torch.Tensor, n_categories: int) -> torch.Tensor:
    """q(c|u) = share of user u's slate in category c: (U, C)."""
    onehot = torch.nn.functional.one_hot(item_category[slates], n_categories).float()
    return onehot.mean(1)


def calibration_kl(interests: torch.Tensor, slates: torch.Tensor, item_category: torch.Tensor,
                   alpha: float = 0.01) -> float:
    """Steck (2018): mean_u KL(p_u || q~_u), q~ = (1 - alpha) q + alpha p, with p_u the user's
    interest over categories and q_u the category distribution of the slate. 0 = calibrated."""
    q = category_distribution(slates, item_category, interests.shape[1])
    return float(categorical_kl(interests, (1 - alpha) * q + alpha * interests).mean())


def homogenization(slates: torch.Tensor, n_items: int, max_users: int | None = None) -> float:
    """Mean Jaccard |S_u & S_v| / |S_u | S_v| over pairs u < v of users' recommended sets
    (the first ``max_users`` users). 1 = everyone gets the same items."""
    s = slates[:max_users] if max_users else slates
    m = torch.zeros(s.shape[0], n_items)
    m.scatter_(1, s, 1.0)
    inter = m @ m.T
    size = m.sum(1)
    jac = inter / (size[:, None] + size[None, :] - inter)
    iu = torch.triu_indices(s.shape[0], s.shape[0], offset=1)
    return float(jac[iu[0], iu[1]].mean())


def longtail_retention(interests: torch.Tensor, slates: torch.Tensor, item_category: torch.Tensor,
                       threshold: float = 0.1) -> float:
    """Share of (user, minor interest) pairs whose category appears in the user's slate. A minor
    interest of u is a category c with p_uc >= threshold that is not u's top category."""
    n_cat = interests.shape[1]
    shown = category_distribution(slates, item_category, n_cat) > 0
    minor = interests >= threshold
    minor[torch.arange(interests.shape[0]), interests.argmax(1)] = False
    total = minor.sum()
    return float((shown & minor).sum() / total) if total else float("nan")


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(pi) = -sum_i pi_i log pi_i per row (nats; 0 log 0 = 0); differentiable."""
    return -torch.special.xlogy(probs, probs).sum(-1)


def top_category_share(interests: torch.Tensor, slates: torch.Tensor, item_category: torch.Tensor) -> float:
    """Filter bubble: mean_u share of user u's slate in u's top category argmax_c p_uc (1 = every
    recommended item from the one category the user likes most)."""
    top = interests.argmax(1, keepdim=True)
    return float((item_category[slates] == top).float().mean())


#: Defects whose level the oracle's own slates set (``excess_<name>`` = policy - oracle).
EXCESS = ("popularity_lift", "coverage", "exposure_gini")


def slate_defects(slates: torch.Tensor, available: torch.Tensor, item_emb: torch.Tensor, organic: torch.Tensor,
                  interests: torch.Tensor, item_category: torch.Tensor, alpha: float, max_users: int,
                  minor: float) -> dict[str, float]:
    """Every defect above of one set of slates (``organic``: each user's choice distribution over
    the catalogue, the popularity and profile of ``popularity_lift``)."""
    return {
        "exposure_gini": exposure_gini(slates, available),
        "coverage": coverage(slates, available),
        "intra_list_diversity": intra_list_diversity(slates, item_emb),
        "popularity_lift": popularity_lift(slates, organic.mean(0), organic),
        "calibration_kl": calibration_kl(interests, slates, item_category, alpha),
        "homogenization": homogenization(slates, item_emb.shape[0], max_users),
        "longtail_retention": longtail_retention(interests, slates, item_category, minor),
        "top_category_share": top_category_share(interests, slates, item_category),
    }


def excess_over_oracle(policy: dict, oracle: dict) -> dict[str, float]:
    """``excess_<d>`` = policy's d - the oracle slates' d for d in ``EXCESS``: the part of a defect
    that the best slates for the users do not have (> 0 for lift and Gini, < 0 for coverage: worse)."""
    return {f"excess_{d}": policy[d] - oracle[d] for d in EXCESS if d in policy and d in oracle}
