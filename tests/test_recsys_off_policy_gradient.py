"""``offpolicy_pos`` (recsys_sim.off_policy_gradient): with the logging policy equal to the current
one its gradient is ``onpolicy_pos``'s; weights, top-K factor and SNIPS by hand; it learns on logs;
and ``equal_steps`` gives every learner the same optimizer steps per stage."""
import math

import pytest
import torch

from recsys_sim.config import METHODS, RecsysConfig
from recsys_sim.learner import make_learner
from recsys_sim.learners import passes_per_round
from recsys_sim.off_policy_gradient import importance_weights, loss_offpolicy_pos
from recsys_sim.policy import position_log_probs
from recsys_sim.policy_gradient import loss_policy_gradient
from recsys_sim.rollouts import Logged

SMALL = dict(n_categories=4, new_categories=1, items_per_category=10, dim=8, users_per_cohort=200,
             interactions_per_stage=4096, rounds_per_stage=4, batch_size=512, warmup_interactions=0,
             random_slates=16, max_pair_users=100, num_threads=0)


def test_importance_weights_by_hand():
    pi, beta = torch.tensor([0.2, 0.05, 0.5]), torch.tensor([0.1, 0.1, 0.01])
    # pi / beta = 2, 0.5, 50 -> capped at 10
    assert importance_weights(pi, beta, 3, 10.0, False).tolist() == pytest.approx([2.0, 0.5, 10.0])
    # top-K factor K (1 - pi)^(K-1), K = 3: 3 * 0.64, 3 * 0.9025, 3 * 0.25
    assert importance_weights(pi, beta, 3, 10.0, True).tolist() == pytest.approx([3.84, 1.35375, 7.5])


def _batch(learner, seg, avail, weight):
    users = torch.tensor([0, 1, 2])
    slates = torch.tensor([[0, 5, 9], [3, 2, 1], [11, 4, 7]])
    with torch.no_grad():
        old = position_log_probs(learner.model.scores(seg.features[users], avail), slates)
    adv = torch.tensor([[0.5, -0.2, -0.1], [-0.3, -0.2, -0.1], [-0.3, 0.8, -0.1]])
    return Logged(users, slates, torch.tensor([0, -1, 1]), old_logp=old, advantage=adv, weight=weight)


def _grad(learner, loss_fn, d, cfg, avail, seg):
    learner.model.zero_grad()
    loss = loss_fn(learner.model, seg, d, cfg, avail, {"method": "onpolicy_pos"})
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in learner.model.parameters()]


@pytest.mark.parametrize("estimator", ["ips", "snips"])
def test_gradient_equals_onpolicy_pos_when_the_logging_policy_is_the_current_one(estimator):
    cfg = RecsysConfig.from_dict(dict(SMALL, slate_size=3, offpolicy_estimator=estimator, offpolicy_topk=False))
    learner = make_learner(dict(SMALL, slate_size=3), "offpolicy_pos", 0)
    seg, avail = learner.env.segment("cohort_a"), learner.available
    # the logging policy is the current policy: beta = pi, so every weight is min(1, cap) = 1
    with torch.no_grad():
        pi = torch.softmax(learner.model.scores(seg.features[:3], avail), -1)
    slates = torch.tensor([[0, 5, 9], [3, 2, 1], [11, 4, 7]])
    p = torch.gather(pi, 1, slates)
    w = importance_weights(p, p, 3, cfg.ips_cap, False)
    assert torch.equal(w, torch.ones(3, 3))
    d = _batch(learner, seg, avail, w)
    off_loss, off = _grad(learner, loss_offpolicy_pos, d, cfg, avail, seg)
    on_loss, on = _grad(learner, loss_policy_gradient, d, cfg, avail, seg)
    # rho = 1: both are -mean_n sum_k A_nk = -(0.2 - 0.6 + 0.4) / 3 = 0
    assert off_loss == pytest.approx(on_loss, abs=1e-7) and on_loss == pytest.approx(0.0, abs=1e-7)
    for a, b in zip(off, on):
        assert torch.allclose(a, b, atol=1e-7)
    assert any(float(g.abs().sum()) > 1e-4 for g in on)          # a gradient that is not zero


def test_weights_scale_the_terms_and_snips_normalises_per_position():
    cfg = RecsysConfig.from_dict(dict(SMALL, slate_size=3))
    learner = make_learner(dict(SMALL, slate_size=3), "offpolicy_pos", 0)
    seg, avail = learner.env.segment("cohort_a"), learner.available
    w = torch.tensor([[2.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 3.0]])
    d = _batch(learner, seg, avail, w)
    loss, _ = _grad(learner, loss_offpolicy_pos, d, cfg, avail, seg)
    # rho = 1: -(1/3) sum w A = -(1.0 - 0.2 - 0.1 - 0.3 - 0.2 - 0.1 + 0 + 0.8 - 0.3) / 3 = -0.2
    assert loss == pytest.approx(-0.2, abs=1e-6)
    cfg.offpolicy_estimator = "snips"
    loss, _ = _grad(learner, loss_offpolicy_pos, d, cfg, avail, seg)
    # per position: (1.0 - 0.3 + 0) / 3, (-0.2 - 0.2 + 0.8) / 3, (-0.1 - 0.1 - 0.3) / 5
    assert loss == pytest.approx(-(0.7 / 3 + 0.4 / 3 - 0.5 / 5), abs=1e-6)


def test_offpolicy_pos_learns_from_the_logs():
    learner = make_learner(SMALL, "offpolicy_pos", 0)
    before = learner.evaluate()["cohort_a"]
    stats = learner.train_stage("cohort_a", 1)
    after = learner.evaluate()["cohort_a"]
    # measured (seed 0): 0.464 -> 0.954 (snips: 0.956)
    assert stats["interactions"] == 4096 and after >= before + 0.2, (before, after)


def test_equal_steps_gives_every_learner_the_same_optimizer_steps():
    legacy = RecsysConfig.from_dict(SMALL)
    assert [passes_per_round(legacy, m) for m in METHODS] == [1, 1, 1, 1, 1, 4, 4, 4]
    equal = dict(SMALL, equal_steps=True, ppo_epochs=2)
    steps = {}
    for m in METHODS:
        learner = make_learner(equal, m, 0)
        stats = learner.train_stage("cohort_a", 1)
        steps[m] = (stats["steps"], stats["interactions"], stats["passes_per_round"])
    # 4 rounds x 2 passes x (1024 interactions / 512 per step) = 16 steps, 4096 interactions
    assert set(steps.values()) == {(16, 4096, 2)}, steps
    assert math.isclose(RecsysConfig.from_dict(equal).ppo_epochs, 2)
