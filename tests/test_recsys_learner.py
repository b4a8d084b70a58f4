"""RecsysLearner: every method learns, the protocol outputs are sane, checkpoints resume exactly."""
import math

import pytest
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim.learner import METHODS, default_stages, make_learner

SMALL = dict(n_categories=4, new_categories=1, items_per_category=10, dim=8, users_per_cohort=200,
             interactions_per_stage=4096, rounds_per_stage=4, batch_size=512, warmup_interactions=0,
             random_slates=16, max_pair_users=100, num_threads=0)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_improves_its_own_segment(method):
    learner = make_learner(SMALL, method, 0)
    before = learner.evaluate()["cohort_a"]
    stats = learner.train_stage("cohort_a", 1)
    after = learner.evaluate()["cohort_a"]
    assert stats["interactions"] == SMALL["interactions_per_stage"]
    # measured (seed 0): base 0.46 -> 0.76 (next_item), 0.90 (ctr, onpolicy), 0.91 (ips),
    # 0.95 (self_sup); random policy 0.56
    assert after >= before + 0.2, (before, after)
    assert after > learner.random_ratio()["cohort_a"]


def test_protocol_outputs_and_catalogue_growth():
    learner = make_learner(SMALL, "next_item", 0)
    names = learner.eval_names()
    assert names == default_stages(SMALL) == ["cohort_a", "cohort_b", "cohort_c"]
    acc = learner.evaluate()
    assert set(acc) == set(names) and all(0.0 <= v <= 1.0 for v in acc.values())
    # base vs itself: every divergence is exactly zero; no old segments -> None
    div = learner.divergences("cohort_a", [])
    assert div["new_task_forward_kl"] == pytest.approx(0.0, abs=1e-6)
    assert div["old_task_forward_kl"] is None
    new_items = ~learner.available
    assert new_items.sum() == 10 and not new_items[learner.greedy("cohort_b")].any()
    learner.train_stage("cohort_a", 1)
    learner.train_stage("cohort_b", 2)
    assert learner.available.all()
    # cold start: the new items' base bias is the mean of the old items' base bias
    base = learner.base_parameters()["item_bias"]
    assert torch.allclose(base[new_items], base[~new_items].mean().expand(10))
    div = learner.divergences("cohort_b", ["cohort_a"])
    for key in ("new_task_forward_kl", "old_task_forward_kl", "new_task_reverse_kl",
                "old_task_reverse_kl", "new_task_tv", "old_task_tv"):
        assert math.isfinite(div[key]) and div[key] > 0, key
    ex = learner.extras("cohort_b")
    d = ex["defects"]
    assert set(d) == {"exposure_gini", "coverage", "intra_list_diversity", "popularity_lift",
                      "calibration_kl", "homogenization", "longtail_retention", "entropy", "top_category_share",
                      "excess_popularity_lift", "excess_coverage", "excess_exposure_gini"}
    o = ex["defects_oracle"]
    assert d["excess_coverage"] == pytest.approx(d["coverage"] - o["coverage"])
    assert 0 <= d["exposure_gini"] <= 1 and 0 < d["coverage"] <= 1
    assert set(ex["random_ratio"]) == set(names)
    assert all(0 < r < 1 for r in ex["random_ratio"].values())
    assert set(learner.parameters()) == {"user_tower.0.weight", "user_tower.0.bias", "item_emb", "item_bias"}


def test_same_seed_same_base_for_every_method():
    a, b = make_learner(SMALL, "ctr", 3), make_learner(dict(SMALL, warmup_interactions=300), "onpolicy", 3)
    c = make_learner(dict(SMALL, warmup_interactions=300), "ips", 3)
    assert not torch.equal(a.parameters()["item_emb"], b.parameters()["item_emb"])  # warm start moved it
    for k, v in b.parameters().items():
        assert torch.equal(v, c.parameters()[k])


@pytest.mark.parametrize("method,extra", [("onpolicy", {}), ("ips", {"logging_policy": "boltzmann"}),
                                          ("ctr", {})])
def test_save_load_resumes_bit_identically(tmp_path, method, extra):
    cfg = dict(SMALL, **extra)
    first = make_learner(cfg, method, 1)
    first.train_stage("cohort_a", 1)
    first.save(tmp_path / "stage1")
    acc1 = first.evaluate()
    first.train_stage("cohort_b", 2)
    want_acc, want_params = first.evaluate(), first.parameters()

    resumed = make_learner(cfg, method, 1)
    resumed.load(tmp_path / "stage1")
    assert resumed.evaluate() == acc1
    resumed.train_stage("cohort_b", 2)
    assert resumed.evaluate() == want_acc
    for k, v in resumed.parameters().items():
        assert torch.equal(v, want_params[k]), k
    assert resumed.divergences("cohort_b", ["cohort_a"]) == first.divergences("cohort_b", ["cohort_a"])


def test_shipped_config_is_valid():
    from pathlib import Path

    from forgetbench.config.schema import load_config
    from recsys_sim.config import RecsysConfig

    path = Path(__file__).resolve().parent.parent / "configs" / "recsys.yaml"
    cfg = load_config(["--config", str(path)])
    rc = RecsysConfig.from_dict(cfg.recsys)
    assert cfg.domain == "recsys" and rc.stages == cfg.tasks and cfg.experiment == "recsys"
    two_by_two = {"ctr", "next_item", "offpolicy_pos", "self_sup", "onpolicy_pos"}
    assert set(cfg.methods) == two_by_two | {"ips"}
    assert len(cfg.seeds) >= 10                         # issue 32: the reference has >= 10 seeds
    # a world where forgetting can happen: >= 8 stages, cohorts return, held-out users, equal steps
    assert len(rc.stages) >= 8 and len(set(rc.stages)) < len(rc.stages)
    assert rc.heldout_users > 0 and rc.equal_steps
    assert rc.popularity_feedback == 0 and rc.boredom == 0 and rc.replay_rounds == 0   # off by default
    # every learner is swept over the same learning rates and budgets
    plain = [f for f in cfg.sweep if "family" not in f]
    grids = {f["method"]: f["grid"][f"recsys.learning_rates.{f['method']}"] for f in plain}
    budgets = {f["method"]: f["grid"]["recsys.interactions_per_stage"] for f in plain}
    assert set(grids) == set(cfg.methods) and len(budgets["ctr"]) >= 2
    assert all(grids[m] == grids["ctr"] and budgets[m] == budgets["ctr"] for m in cfg.methods)
    # each 2 x 2 learner has every dynamics knob and the replay window on its own family, at one of
    # its plain points (the default learning rate, a swept budget), so the report can pair them
    knobs = {}
    for f in (f for f in cfg.sweep if "family" in f):
        assert f["family"] != f["method"]
        grid = dict(f["grid"])
        n = grid.pop("recsys.interactions_per_stage", [rc.interactions_per_stage])
        assert n[0] in budgets[f["method"]] and rc.learning_rates[f["method"]] in grids[f["method"]]
        knobs.setdefault(f["method"], set()).update(grid)
    assert knobs == {m: {"recsys.popularity_feedback", "recsys.boredom", "recsys.replay_rounds"} for m in two_by_two}
    smoke = load_config(["--config", str(path.with_name("recsys_smoke.yaml"))])
    assert smoke.domain == "recsys" and RecsysConfig.from_dict(smoke.recsys).stages == smoke.tasks
    assert {"ctr", "next_item", "ips", "onpolicy"} <= set(smoke.methods)


def test_bad_inputs_raise_forgetbench_errors(tmp_path):
    with pytest.raises(ForgetbenchError, match="did you mean"):
        make_learner(SMALL, "onpolcy", 0)
    learner = make_learner(SMALL, "ctr", 0)
    with pytest.raises(ForgetbenchError, match="cohort_e"):
        learner.train_stage("cohort_e", 1)
    with pytest.raises(ForgetbenchError, match="no checkpoint"):
        learner.load(tmp_path / "missing")


def test_runs_through_the_continual_loop(tmp_path):
    from forgetbench.loop.sequence import run_sequence

    tasks = ["cohort_a", "cohort_b"]
    sec = dict(SMALL, stages=tasks, interactions_per_stage=1024, rounds_per_stage=2)
    config = {"experiment": "t", "domain": "recsys", "tasks": tasks, "recsys": sec}
    r = run_sequence(config, domain="recsys", method="onpolicy", seed=0, tasks=tasks, run_dir=tmp_path,
                     make_learner=lambda: make_learner(sec, "onpolicy", 0))
    assert r["stages"] == ["base", "cohort_a", "cohort_b"] and r["tasks"] == tasks
    assert len(r["accuracy"]) == 3 and len(r["kl"]) == 2 and r["kl"][0]["old_task_forward_kl"] is None
    assert r["drift"][0]["relative_l2"] > 0 and "defects" in r["extras"][1]


def test_same_seed_same_run_is_deterministic():
    runs = []
    for _ in range(2):
        learner = make_learner(dict(SMALL, warmup_interactions=300), "onpolicy", 5)
        learner.train_stage("cohort_a", 1)
        learner.train_stage("cohort_b", 2)
        runs.append((learner.evaluate(), learner.parameters(), learner.extras("cohort_b")))
    (acc0, par0, ex0), (acc1, par1, ex1) = runs
    assert acc0 == acc1 and ex0 == ex1
    assert all(torch.equal(par0[k], par1[k]) for k in par0)
    other = make_learner(dict(SMALL, warmup_interactions=300), "onpolicy", 6)
    assert not torch.equal(other.parameters()["item_emb"], par0["item_emb"])


def test_policy_kl_is_exact_over_the_catalogue():
    """divergences() against a float64 sum over the available items, user by user."""
    learner = make_learner(SMALL, "ctr", 0)
    learner.train_stage("cohort_a", 1)
    learner.train_stage("cohort_b", 2)
    avail = learner.available
    want = {}
    for seg in ("cohort_b", "cohort_a"):
        x = learner.env.segment(seg).features
        with torch.no_grad():
            s0 = learner.base.scores(x)[:, avail].double()
            s1 = learner.model.scores(x)[:, avail].double()
        p0, p1 = torch.softmax(s0, -1), torch.softmax(s1, -1)
        fwd = (p0 * (p0.log() - p1.log())).sum(-1).mean()
        rev = (p1 * (p1.log() - p0.log())).sum(-1).mean()
        tv = 0.5 * (p0 - p1).abs().sum(-1).mean()
        want[seg] = (float(fwd), float(rev), float(tv))
    got = learner.divergences("cohort_b", ["cohort_a"])
    assert got["new_task_forward_kl"] == pytest.approx(want["cohort_b"][0], rel=1e-4)
    assert got["new_task_reverse_kl"] == pytest.approx(want["cohort_b"][1], rel=1e-4)
    assert got["new_task_tv"] == pytest.approx(want["cohort_b"][2], rel=1e-4)
    assert got["old_task_forward_kl"] == pytest.approx(want["cohort_a"][0], rel=1e-4)
    assert got["old_task_reverse_kl"] == pytest.approx(want["cohort_a"][1], rel=1e-4)
    assert got["new_task_forward_kl"] > 0.05     # the policy did move


def test_each_method_raises_the_new_segment_ctr_after_a_shift():
    """Stage 2 (cohort B, new categories): every learner raises cohort B's exact CTR."""
    for method in METHODS:
        learner = make_learner(SMALL, method, 0)
        learner.train_stage("cohort_a", 1)
        before = learner.ctr("cohort_b")
        learner.train_stage("cohort_b", 2)
        # measured (seed 0; oracle CTR 0.917): ctr 0.31 -> 0.88, next_item 0.26 -> 0.66,
        # ips 0.30 -> 0.87, onpolicy 0.28 -> 0.88, self_sup 0.30 -> 0.89
        assert learner.ctr("cohort_b") > before + 0.2, method
