"""Defect metrics on hand-made cases with known values."""
import math

import pytest
import torch

from recsys_sim import defects


def test_exposure_gini_known_values():
    avail = torch.ones(4, dtype=torch.bool)
    equal = torch.tensor([[0, 1], [2, 3]])
    assert defects.exposure_gini(equal, avail) == pytest.approx(0.0, abs=1e-7)
    one_item = torch.zeros(10, 1, dtype=torch.long)
    assert defects.exposure_gini(one_item, avail) == pytest.approx(3 / 4)
    # exposures (0, 0, 1, 3): sum_ij |e_i - e_j| = 20, / (2 * 4 * 4) = 0.625
    mixed = torch.tensor([[2], [3], [3], [3]])
    assert defects.exposure_gini(mixed, avail) == pytest.approx(0.625)
    # unavailable items are not part of the population
    part = torch.tensor([True, True, False, False])
    assert defects.exposure_gini(torch.tensor([[0], [1]]), part) == pytest.approx(0.0, abs=1e-7)


def test_coverage():
    avail = torch.tensor([True, True, True, True, False])
    assert defects.coverage(torch.tensor([[0, 1], [1, 0]]), avail) == pytest.approx(0.5)


def test_intra_list_diversity():
    emb = torch.eye(3)
    assert defects.intra_list_diversity(torch.tensor([[0, 1, 2]]), emb) == pytest.approx(1.0)
    same = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    assert defects.intra_list_diversity(torch.tensor([[0, 1]]), same) == pytest.approx(0.0, abs=1e-6)


def test_popularity_lift():
    pop = torch.tensor([0.5, 0.3, 0.2])
    profile = torch.tensor([[0.0, 0.0, 1.0]])
    assert defects.popularity_lift(torch.tensor([[0]]), pop, profile) == pytest.approx(1.5)
    assert defects.popularity_lift(torch.tensor([[2]]), pop, profile) == pytest.approx(0.0)


def test_calibration_kl():
    cat = torch.tensor([0, 0, 1, 1])
    p = torch.tensor([[0.5, 0.5]])
    assert defects.calibration_kl(p, torch.tensor([[0, 2]]), cat) == pytest.approx(0.0, abs=1e-6)
    # p = (1, 0), all recommendations in category 1: q~ = (0.01, 0.99), KL = log(100)
    got = defects.calibration_kl(torch.tensor([[1.0, 0.0]]), torch.tensor([[2, 3]]), cat, alpha=0.01)
    assert got == pytest.approx(math.log(100), rel=1e-5)


def test_homogenization_jaccard():
    assert defects.homogenization(torch.tensor([[0, 1], [1, 0], [0, 1]]), 4) == pytest.approx(1.0)
    assert defects.homogenization(torch.tensor([[0, 1], [2, 3]]), 4) == pytest.approx(0.0)
    assert defects.homogenization(torch.tensor([[0, 1], [1, 2]]), 4) == pytest.approx(1 / 3)


def test_longtail_retention():
    cat = torch.tensor([0, 1, 2, 3])
    interests = torch.tensor([[0.6, 0.3, 0.1, 0.0]])      # minor interests: categories 1 and 2
    assert defects.longtail_retention(interests, torch.tensor([[0, 1]]), cat) == pytest.approx(0.5)
    assert defects.longtail_retention(interests, torch.tensor([[1, 2]]), cat) == pytest.approx(1.0)
    assert defects.longtail_retention(interests, torch.tensor([[0, 3]]), cat) == pytest.approx(0.0)


def test_entropy():
    h = defects.entropy(torch.tensor([[0.25] * 4, [1.0, 0.0, 0.0, 0.0]]))
    assert torch.allclose(h, torch.tensor([math.log(4), 0.0]))


def test_excess_over_the_oracle_on_a_crafted_catalogue():
    from recsys_sim.defects import excess_over_oracle, slate_defects, top_category_share

    # 4 items, popularity = every user's organic choice (0.4, 0.3, 0.2, 0.1); 2 users, K = 2
    organic = torch.tensor([[0.4, 0.3, 0.2, 0.1]] * 2)
    avail = torch.ones(4, dtype=torch.bool)
    emb, cat = torch.eye(4), torch.tensor([0, 0, 1, 1])
    interests = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    policy = torch.tensor([[0, 1], [0, 1]])                 # both users get the two most popular items
    oracle = torch.tensor([[0, 1], [2, 3]])
    args = (avail, emb, organic, interests, cat, 0.01, 10, 0.1)
    p, o = slate_defects(policy, *args), slate_defects(oracle, *args)
    # GAP_profile = 0.16 + 0.09 + 0.04 + 0.01 = 0.30; policy GAP 0.35 -> +1/6; oracle GAP 0.25 -> -1/6
    assert (p["popularity_lift"], o["popularity_lift"]) == (pytest.approx(1 / 6), pytest.approx(-1 / 6))
    # exposure (2, 2, 0, 0): Gini = (1*2 + 3*2) / (4 * 4) = 0.5; oracle (1, 1, 1, 1): 0
    ex = excess_over_oracle(p, o)
    assert ex == pytest.approx({"excess_popularity_lift": 1 / 3, "excess_coverage": 0.5 - 1.0,
                                "excess_exposure_gini": 0.5})
    # filter bubble: user 0 (top category 0) 2/2 in it, user 1 (top category 1) 0/2 -> 0.5; oracle 1.0
    assert p["top_category_share"] == pytest.approx(0.5) and o["top_category_share"] == pytest.approx(1.0)
    assert top_category_share(interests, oracle, cat) == pytest.approx(1.0)
