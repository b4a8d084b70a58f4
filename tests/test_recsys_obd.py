"""The OBD world: the loader, the click model fitted on the random logs, the world built on it, and
the real-log IPS / SNIPS evaluation (checked against hand-computed values and against obp's own
estimators). Tests that read the data skip only when the obp wheel is absent
(``pip install --no-deps obp``); the obp comparison needs obp's dependencies (scikit-learn, seaborn,
mypy-extensions) and skips without them."""
import importlib.util
import math

import numpy as np
import pytest
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim import obd_clicks, obd_data, obd_offline
from recsys_sim.config import RecsysConfig

needs_obp = pytest.mark.skipif(importlib.util.find_spec("obp") is None,
                               reason="the Open Bandit Dataset needs: pip install --no-deps obp")
CAMPAIGN_ITEMS = {"all": 80, "men": 34, "women": 46}


def test_missing_obp_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(obd_data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ForgetbenchError, match=r"pip install --no-deps obp"):
        obd_data.obp_root()


def test_ips_and_snips_hand_computed():
    # w = pi_e / pscore = [2, 4, 0]; w r = [2, 0, 0]
    reward, pscore, pi_e = [1, 0, 1], [0.5, 0.25, 0.1], [1.0, 1.0, 0.0]
    value, se = obd_offline.ips(reward, pscore, pi_e)
    assert value == pytest.approx(2 / 3)
    assert se == pytest.approx(math.sqrt(((2 - 2 / 3) ** 2 + 2 * (2 / 3) ** 2) / 2) / math.sqrt(3))
    assert obd_offline.snips(reward, pscore, pi_e) == pytest.approx(2 / 6)


def test_config_checks_the_world():
    assert RecsysConfig.from_dict({"world": "obd", "stages": ["men", "women"], "slate_size": 3}).world == "obd"
    with pytest.raises(ForgetbenchError, match="world"):
        RecsysConfig.from_dict({"world": "zozo"})
    with pytest.raises(ForgetbenchError, match="stages"):
        RecsysConfig.from_dict({"world": "obd", "stages": ["cohort_a"], "slate_size": 3})
    with pytest.raises(ForgetbenchError, match="stages"):
        RecsysConfig.from_dict({"stages": ["men"]})
    with pytest.raises(ForgetbenchError, match="slate_size"):
        RecsysConfig.from_dict({"world": "obd", "stages": ["men"], "slate_size": 5})


@needs_obp
@pytest.mark.parametrize("policy", obd_data.POLICIES)
@pytest.mark.parametrize("campaign", obd_data.CAMPAIGNS)
def test_loader_columns_and_rows(policy, campaign):
    n = CAMPAIGN_ITEMS[campaign]
    df = obd_data.load_logs(policy, campaign)
    assert len(df) == 10_000
    assert list(df.columns) == (["timestamp", "item_id", "position", "click", "propensity_score",
                                 *obd_data.USER_FEATURES] + [f"user-item_affinity_{i}" for i in range(n)])
    assert set(df["position"]) == {1, 2, 3} and set(df["click"]) == {0, 1}
    assert df["item_id"].min() == 0 and df["item_id"].max() == n - 1
    if policy == "random":
        assert np.allclose(df["propensity_score"], 1 / n)
    items = obd_data.load_items(policy, campaign)
    assert list(items.columns) == ["item_id"] + [f"item_feature_{k}" for k in range(4)]
    assert items["item_id"].tolist() == list(range(n))
    alpha, beta = obd_data.load_bts_prior(campaign)
    assert len(alpha) == len(beta) == n


@pytest.fixture(scope="module")
def fitted():
    if importlib.util.find_spec("obp") is None:
        pytest.skip("the Open Bandit Dataset needs: pip install --no-deps obp")
    model = obd_clicks.fit(("men", "women"))
    return model, obd_clicks.random_logs(model)


def test_click_model_reproduces_the_random_logs_item_ctrs(fitted):
    model, df = fitted
    check = obd_clicks.item_ctr_check(model, df)
    assert check["dof"] == 80
    assert check["expected"].sum() == pytest.approx(check["observed"].sum(), rel=1e-3)   # ML intercepts
    z = (check["observed"] - check["expected"]) / np.sqrt(check["expected"])
    assert np.mean(np.abs(z) < 2) >= 0.9                      # measured: 0.94
    assert check["chi2"] < obd_clicks.chi2_quantile(2.326, check["dof"])   # 99%; measured 76.7 < 112
    # a wrong model fails the same check: the item contrasts reversed and tripled
    model.slope = -3 * model.slope
    try:
        bad = obd_clicks.item_ctr_check(model, df)
    finally:
        model.slope = -model.slope / 3
    assert bad["chi2"] > obd_clicks.chi2_quantile(2.326, bad["dof"])
    # the fit was chosen by 5-fold CV among SPECS; the constant CTR is reported beside it
    assert model.spec == min(obd_clicks.SPECS, key=model.cv.get) and "constant" in model.cv


@needs_obp
def test_ips_of_the_logging_policy_is_its_logged_ctr():
    model = obd_clicks.build(("men",))
    for policy in obd_data.POLICIES:
        logs = obd_offline.real_logs(policy, "men", model)
        # pi_e = pi_b on every logged row: every weight is 1
        value, _ = obd_offline.ips(logs.clicks, logs.pscore, logs.pscore)
        assert value == pytest.approx(float(logs.clicks.double().mean()), abs=1e-12)
    rnd = obd_offline.real_logs("random", "men", model)
    uniform = np.full(len(rnd.clicks), 1 / rnd.n_items)
    assert obd_offline.ips(rnd.clicks, rnd.pscore, uniform)[0] == pytest.approx(0.0046, abs=1e-12)
    assert obd_offline.snips(rnd.clicks, rnd.pscore, uniform) == pytest.approx(0.0046, abs=1e-12)


@needs_obp
def test_greedy_probability_matches_slates_by_position():
    model = obd_clicks.build(("men",))
    logs = obd_offline.real_logs("random", "men", model)
    slates = torch.stack([logs.items, (logs.items + 1) % 34, (logs.items + 2) % 34], 1)
    # the logged item is at rank 1 of every slate: pi_e = 1 exactly where the logged position is 1
    assert torch.equal(obd_offline.greedy_probability(slates, logs), (logs.positions == 1).double())
    value, _ = obd_offline.ips(logs.clicks, logs.pscore, (logs.positions == 1).double())
    pos1 = logs.positions == 1
    assert value == pytest.approx(34 * float(logs.clicks[pos1].sum()) / len(logs.clicks))


@needs_obp
def test_ips_and_snips_equal_obps_estimators():
    ope = pytest.importorskip("obp.ope", reason="obp's estimators need scikit-learn, seaborn, mypy-extensions")
    cfg = RecsysConfig.from_dict({"slate_size": 3})
    model = obd_clicks.build(("men",))
    bts = obd_offline.real_logs("bts", "men", model)
    policy = obd_offline.train_on_logs("next_item", bts, cfg, seed=0, epochs=1)
    for logs in (bts, obd_offline.real_logs("random", "men", model)):
        with torch.no_grad():
            slates = policy.scores(logs.features).topk(3, -1).indices
        dist = np.zeros((len(logs.items), logs.n_items, 3))
        dist[np.arange(len(logs.items))[:, None], slates.numpy(), np.arange(3)[None, :]] = 1.0
        kw = dict(reward=logs.clicks.numpy(), action=logs.items.numpy(), position=logs.positions.numpy() - 1,
                  pscore=logs.pscore.numpy(), action_dist=dist)
        pi_e = obd_offline.greedy_probability(slates, logs).numpy()
        ours = obd_offline.ips(kw["reward"], kw["pscore"], pi_e)[0]
        assert ours > 0
        assert ours == pytest.approx(ope.InverseProbabilityWeighting().estimate_policy_value(**kw), rel=1e-12)
        assert obd_offline.snips(kw["reward"], kw["pscore"], pi_e) == pytest.approx(
            ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**kw), rel=1e-12)


OBD_SMALL = dict(world="obd", stages=["men", "women"], slate_size=3, users_per_cohort=300,
                 interactions_per_stage=4096, rounds_per_stage=4, batch_size=512, random_slates=16,
                 max_pair_users=100, num_threads=0, minor_interest=0.05)


@needs_obp
def test_obd_world_utilities_catalogue_and_exact_ctr():
    from recsys_sim.obd_env import ObdEnv

    cfg = RecsysConfig.from_dict(OBD_SMALL)
    env = ObdEnv(cfg, seed=0)
    m = env.click_model
    assert env.n_items == 80 and env.item_category.tolist() == [0] * 34 + [1] * 46
    men, women = env.segment("men"), env.segment("women")
    assert men.n_users == women.n_users == 300 and men.features.shape[1] == m.n_features
    # utility = c_campaign(i) + k d_i + w . x, plus the cross-campaign offset on the other campaign
    own = m.item_logit(men.features)
    cross = torch.tensor([0.0] * 34 + [-2.0] * 46)
    assert torch.allclose(men.utility, own + cross)
    assert float(men.utility[0, 5]) == pytest.approx(float(m.level[0] + m.slope * m.contrast[5]
                                                           + men.features[0].double() @ m.user_weight), abs=1e-5)
    # catalogue: men's items first, women's join when women is trained
    assert env.available_items([]).tolist() == [True] * 34 + [False] * 46
    assert bool(env.available_items(["men", "women"]).all())
    # exact slate CTR = sigmoid(logsumexp_p(u + b_p) - 0)
    slate = torch.tensor([[3, 7, 40]])
    z = men.utility[0, slate[0]] + env.offsets
    assert float(env.slate_ctr("men", slate)[0]) == pytest.approx(float(torch.sigmoid(torch.logsumexp(z, 0))), rel=1e-6)
    # the oracle slate beats every random slate of the same users
    avail = env.available_items(["men", "women"])
    rand = float(env.random_ctr("men", avail))
    assert env.oracle_ctr("men", avail) > rand > 0
    # interests: organic choice mass per campaign; a men visitor's mass on women's items is
    # 46 e^-2 / (34 + 46 e^-2) when all men's items had one utility (the contrasts make it close)
    assert torch.allclose(men.interests.sum(1), torch.ones(300))
    assert float(men.interests[:, 1].mean()) == pytest.approx(46 * math.exp(-2) / (34 + 46 * math.exp(-2)), rel=0.15)
    with pytest.raises(ForgetbenchError, match="cohort_a"):
        env.segment("cohort_a")


@needs_obp
def test_obd_learner_protocol_end_to_end():
    from recsys_sim.learner import make_learner

    section = {**OBD_SMALL, "interactions_per_stage": 8192, "learning_rates": {"ctr": 0.1}}
    learner = make_learner(section, "ctr", 0)
    assert learner.eval_names() == ["men", "women"]
    before = learner.evaluate()
    learner.train_stage("men", 1)
    learner._grow_catalogue("women")
    start = learner.ctr("women")            # women's visitors, women's items just joined (cold start)
    learner.train_stage("women", 2)
    after = learner.evaluate()
    assert all(0.0 <= v <= 1.0 for v in (*before.values(), *after.values()))
    # measured (seed 0): women CTR 0.0022 -> 0.0118, CTR/oracle 0.68 vs random 0.50
    assert learner.ctr("women") > 3 * start
    assert after["women"] > learner.random_ratio()["women"]
    extras = learner.extras("women")
    assert extras["click_model"]["spec"] in obd_clicks.SPECS
    assert set(extras["defects"]) >= {"coverage", "popularity_lift", "exposure_gini", "entropy"}
    div = learner.divergences("women", ["men"])
    assert div["old_task_forward_kl"] > 0


def test_shipped_obd_config_validates():
    from forgetbench.config.schema import load_config

    cfg = load_config(["--config", "configs/recsys_obd.yaml"])
    rc = RecsysConfig.from_dict(cfg.recsys)
    assert rc.world == "obd" and rc.stages == cfg.tasks == ["men", "women"] and len(cfg.seeds) >= 5


def test_offline_cli_without_obp_exits_2(monkeypatch, capsys):
    monkeypatch.setattr(obd_data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit) as e:
        obd_offline.main(["--campaigns", "men", "--seeds", "0"])
    assert e.value.code == 2 and "pip install --no-deps obp" in capsys.readouterr().err
