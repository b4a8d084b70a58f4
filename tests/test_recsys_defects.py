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
