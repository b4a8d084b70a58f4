"""Click model: exact slate CTR vs Monte-Carlo clicks, oracle optimality, random-policy CTR."""
import itertools

import pytest
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim import clicks
from recsys_sim.config import RecsysConfig
from recsys_sim.env import RecsysEnv


def _world(n_users=3, n_items=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n_users, n_items, generator=g) * 1.5


def test_exact_ctr_matches_monte_carlo_clicks():
    utility = _world(n_users=4, n_items=8)
    offsets = clicks.position_offsets(3, position_bias=0.8)
    slates = torch.tensor([[0, 1, 2], [7, 3, 5], [2, 6, 4], [1, 0, 7]])
    n = 50_000                                                  # 4 slates x 50k = 200k draws
    u = utility.repeat_interleave(n, 0)
    s = slates.repeat_interleave(n, 0)
    pos = clicks.sample_clicks(u, s, offsets, 0.5, torch.Generator().manual_seed(1)).view(4, n)
    exact = clicks.slate_ctr(utility, slates, offsets, 0.5)
    mc = (pos >= 0).double().mean(1)
    se = (exact * (1 - exact) / n).sqrt()
    assert ((mc - exact).abs() <= 3 * se).all(), (mc, exact, se)
    # per-position click probabilities follow the logit formula too
    z = torch.gather(utility, 1, slates) + offsets
    p_pos = torch.exp(z) / (torch.exp(torch.tensor(0.5)) + torch.exp(z).sum(1, keepdim=True))
    for p in range(3):
        f = (pos == p).double().mean(1)
        assert ((f - p_pos[:, p]).abs() <= 3 * (p_pos[:, p] * (1 - p_pos[:, p]) / n).sqrt() + 1e-9).all()


def test_slate_ctr_hand_computed():
    utility = torch.tensor([[0.0, 1.0, 2.0]])
    offsets = torch.tensor([0.0, -1.0])
    # slate [2, 1]: exp(2) + exp(1 - 1) = e^2 + 1; no-click utility 1 -> e
    want = (torch.e ** 2 + 1) / (torch.e + torch.e ** 2 + 1)
    got = clicks.slate_ctr(utility, torch.tensor([[2, 1]]), offsets, 1.0)
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_oracle_is_the_best_ordered_slate_bruteforce():
    utility = _world(n_users=5, n_items=6, seed=3)
    offsets = clicks.position_offsets(3, position_bias=1.0)
    oracle = clicks.slate_ctr(utility, clicks.oracle_slates(utility, 3), offsets, 0.3)
    every = torch.tensor(list(itertools.permutations(range(6), 3)))       # 120 ordered slates
    all_ctr = clicks.slate_ctr(utility, every.expand(5, -1, -1), offsets, 0.3)  # (5, 120)
    assert torch.allclose(oracle, all_ctr.max(1).values)
    assert (oracle[:, None] >= all_ctr - 1e-7).all()


def test_oracle_beats_random_slates_in_the_env():
    env = RecsysEnv(RecsysConfig(users_per_cohort=300), seed=0)
    avail = env.available_items([])
    seg = env.segment("cohort_a")
    oracle = env.slate_ctr(seg, env.oracle_slates(seg, avail))
    g = torch.Generator().manual_seed(0)
    rand = env.slate_ctr(seg, clicks.uniform_slates(300, 5, avail, g, n_slates=50))
    assert (oracle[:, None] >= rand - 1e-7).all()
    assert env.random_ctr(seg, avail) < env.oracle_ctr(seg, avail)


def test_random_policy_ctr_estimate_vs_exact_enumeration():
    utility = _world(n_users=3, n_items=7, seed=5)
    offsets = clicks.position_offsets(3, 1.0)
    exact = clicks.exact_random_ctr_bruteforce(utility, offsets, 0.0)
    avail = torch.ones(7, dtype=torch.bool)
    est = clicks.random_policy_ctr(utility, offsets, 0.0, avail, 20_000, torch.Generator().manual_seed(0))
    assert torch.allclose(est, exact, atol=0.01)


def test_uniform_slates_only_use_available_items_without_repeats():
    avail = torch.tensor([True, False, True, True, False, True])
    s = clicks.uniform_slates(200, 3, avail, torch.Generator().manual_seed(0))
    assert avail[s].all()
    assert all(len(set(row.tolist())) == 3 for row in s)


def test_config_errors_name_the_field():
    with pytest.raises(ForgetbenchError, match="slate_sise"):
        RecsysConfig.from_dict({"slate_sise": 3})
    with pytest.raises(ForgetbenchError, match="logging_policy"):
        RecsysConfig.from_dict({"logging_policy": "greedy"})
    with pytest.raises(ForgetbenchError, match="dim"):
        RecsysConfig.from_dict({"dim": "big"})
    with pytest.raises(ForgetbenchError, match="stages"):
        RecsysConfig.from_dict({"stages": ["cohort_z"]})
    cfg = RecsysConfig.from_dict({"learning_rates": {"ips": 0.5}, "position_bias": 2})
    assert cfg.learning_rates["ips"] == 0.5 and cfg.learning_rates["ctr"] == 0.03
    assert cfg.position_bias == 2.0
