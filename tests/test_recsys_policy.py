"""Plackett-Luce slates: exact log-probs normalise, Gumbel-top-K samples follow them."""
import itertools

import torch

from recsys_sim.policy import PolicyModel, greedy_slates, gumbel_topk, slate_log_prob


def test_plackett_luce_log_probs_sum_to_one_over_all_slates():
    scores = torch.randn(3, 5, generator=torch.Generator().manual_seed(0)) * 2
    every = torch.tensor(list(itertools.permutations(range(5), 3)))         # 60 ordered slates
    lp = slate_log_prob(scores, every.expand(3, -1, -1))                     # (3, 60)
    assert torch.allclose(lp.exp().sum(1), torch.ones(3), atol=1e-5)


def test_plackett_luce_with_masked_items_and_peaked_scores():
    scores = torch.tensor([[30.0, 0.0, float("-inf"), -30.0]])
    every = torch.tensor([s for s in itertools.permutations(range(4), 2) if 2 not in s])
    lp = slate_log_prob(scores, every.unsqueeze(0))
    assert torch.isfinite(lp).all()
    assert torch.allclose(lp.exp().sum(), torch.tensor(1.0), atol=1e-5)
    # P([1, 3]) = p(1) * p(3 | 1 removed): computed by hand with log-sum-exp
    want = (0.0 - torch.logsumexp(torch.tensor([30.0, 0.0, -30.0]), 0)) + \
           (-30.0 - torch.logsumexp(torch.tensor([30.0, -30.0]), 0))
    got = slate_log_prob(scores, torch.tensor([[1, 3]]))
    assert torch.allclose(got, want.unsqueeze(0))


def test_gumbel_top_k_frequencies_match_exact_probabilities():
    scores = torch.tensor([[1.0, 0.0, -0.5, 0.7]])
    n = 40_000
    s = gumbel_topk(scores, 2, torch.Generator().manual_seed(0), n_samples=n)[0]  # (n, 2)
    every = torch.tensor(list(itertools.permutations(range(4), 2)))
    p = slate_log_prob(scores, every.unsqueeze(0))[0].exp()
    for slate, prob in zip(every, p):
        f = (s == slate).all(1).double().mean()
        assert abs(f - prob) <= 4 * (prob * (1 - prob) / n).sqrt() + 1e-9


def test_greedy_slate_is_sorted_top_k_and_masking_works():
    model = PolicyModel(4, 10, 3, seed=0)
    avail = torch.tensor([True] * 6 + [False] * 4)
    s = model.scores(torch.randn(7, 4), avail)
    g = greedy_slates(s, 3)
    assert avail[g].all()
    top = torch.gather(s, 1, g)
    assert (top[:, :-1] >= top[:, 1:]).all()
    assert (top[:, -1:] >= s.masked_fill(torch.zeros_like(s, dtype=torch.bool).scatter(1, g, True),
                                          float("-inf"))).all()


def test_same_seed_same_policy_and_hidden_tower():
    a, b = PolicyModel(4, 10, 3, hidden=5, seed=1), PolicyModel(4, 10, 3, hidden=5, seed=1)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb)
