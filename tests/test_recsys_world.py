"""The world where forgetting can happen (recsys_sim): held-out evaluation users, the interference
knob (``policy_dim``), the replay window, and stored runs' worlds unchanged by the new knobs."""
import pytest
import torch

from recsys_sim.learner import make_learner
from recsys_sim.replay import ReplayWindow, join
from recsys_sim.rollouts import Logged

SMALL = dict(n_categories=4, new_categories=1, items_per_category=10, dim=8, users_per_cohort=200,
             interactions_per_stage=2048, rounds_per_stage=4, batch_size=256, warmup_interactions=0,
             random_slates=16, max_pair_users=100, num_threads=0)


@pytest.mark.parametrize("method", ["ctr", "onpolicy", "offpolicy_pos"])
def test_held_out_users_never_appear_in_training_logs(method):
    learner = make_learner(dict(SMALL, heldout_users=150), method, 0)
    env = learner.env
    seen = []
    real = env.sample_clicks

    def spy(seg, slates, generator, users=None):
        seen.append((seg, users))
        return real(seg, slates, generator, users)

    env.sample_clicks = spy
    learner.train_stage("cohort_a", 1)
    train, held = env.segment("cohort_a"), env.eval_segment("cohort_a")
    assert seen and all(s is train for s, _ in seen)              # every logged click: training users
    assert max(int(u.max()) for _, u in seen) < train.n_users == 200
    assert held.n_users == 150 and held.name == "cohort_a#heldout"
    # no held-out user is a training user (distinct draws of features and tastes)
    assert torch.cdist(held.features, train.features).min() > 1e-6
    # evaluation reads the held-out users: CTR of the greedy slates on them / their oracle
    want = float(env.slate_ctr(held, learner.greedy("cohort_a")).mean()) / env.oracle_ctr(held, learner.available)
    assert learner.evaluate()["cohort_a"] == pytest.approx(min(1.0, want))


def test_without_held_out_users_the_world_is_the_old_one():
    a = make_learner(SMALL, "ctr", 0).env
    b = make_learner(dict(SMALL, heldout_users=50, policy_dim=2, replay_rounds=3), "ctr", 0).env
    for name in ("cohort_a", "cohort_b", "cohort_c"):
        assert a.eval_segment(name) is a.segment(name)
        assert torch.equal(a.segment(name).utility, b.segment(name).utility)
        assert torch.equal(a.segment(name).features, b.segment(name).features)


def test_policy_dim_sets_the_policy_embedding_width():
    learner = make_learner(dict(SMALL, policy_dim=2), "ctr", 0)
    assert learner.model.item_emb.shape == (40, 2) and learner.model.user_tower[0].weight.shape == (2, 4)
    assert make_learner(SMALL, "ctr", 0).model.item_emb.shape == (40, 8)


def test_replay_joins_rounds_with_offset_users():
    f1, f2 = torch.zeros(3, 2), torch.ones(2, 2)
    d1 = Logged(torch.tensor([0, 2]), torch.tensor([[1, 2], [3, 4]]), torch.tensor([0, -1]))
    d2 = Logged(torch.tensor([1]), torch.tensor([[5, 6]]), torch.tensor([1]))
    table, d = join([("a", f1, d1), ("b", f2, d2)])
    assert d.users.tolist() == [0, 2, 4] and d.slates.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert table.features[d.users].tolist() == [[0, 0], [0, 0], [1, 1]]
    w = ReplayWindow(1)
    w.push("a", f1, d1)
    w.push("b", f2, d2)                                            # keeps only the last round
    _, rows = w.train_set("c", f1, d1)
    assert len(rows) == 3 and rows.users.tolist() == [1, 2, 4]


def test_replay_window_trains_on_the_previous_rounds_across_stages():
    learner = make_learner(dict(SMALL, replay_rounds=2), "next_item", 0)
    first = learner.train_stage("cohort_a", 1)
    second = learner.train_stage("cohort_b", 2)
    # 4 rounds of 512 rows: round 1 alone, then + 1, then + 2 rounds -> 512 * (1 + 2 + 3 + 3)
    assert first["rows_trained"] == 512 * 9
    # stage 2 starts with the window full of cohort A's last two rounds: 512 * (3 + 3 + 3 + 3)
    assert second["rows_trained"] == 512 * 12 and second["interactions"] == 2048


def test_a_resumed_learner_keeps_its_replay_window(tmp_path):
    cfg = dict(SMALL, replay_rounds=2)
    first = make_learner(cfg, "next_item", 0)
    first.train_stage("cohort_a", 1)
    first.save(tmp_path)
    resumed = make_learner(cfg, "next_item", 0)
    resumed.load(tmp_path)
    resumed.trained = list(first.trained)
    assert [n for n, _, _ in resumed.replay.past] == ["cohort_a", "cohort_a"]
    a, b = first.train_stage("cohort_b", 2), resumed.train_stage("cohort_b", 2)
    assert a == b and all(torch.equal(x, y) for x, y in zip(first.model.parameters(), resumed.model.parameters()))


def test_exposure_driven_popularity_and_boredom_by_hand():
    from recsys_sim import dynamics

    learner = make_learner(dict(SMALL, popularity_feedback=0.5, boredom=0.2, heldout_users=10), "ctr", 0)
    env, avail = learner.env, torch.ones(40, dtype=torch.bool)
    a = env.segment("cohort_a")
    before_a, before_b = a.utility.clone(), env.segment("cohort_b").utility.clone()
    held = env.eval_segment("cohort_c").utility.clone()
    d = Logged(torch.tensor([3, 3]), torch.tensor([[0, 1], [0, 2]]), torch.tensor([-1, -1]))
    dynamics.feedback(env, a, d, avail)
    # shares: item 0 2/4, items 1 and 2 1/4, the rest 0; delta = 0.5 (share - 1/40)
    delta = torch.full((40,), -0.5 / 40)
    delta[0], delta[1], delta[2] = 0.5 * (0.5 - 1 / 40), 0.5 * (0.25 - 1 / 40), 0.5 * (0.25 - 1 / 40)
    assert torch.allclose(env.segment("cohort_b").utility - before_b, delta.expand(200, 40), atol=1e-6)
    assert torch.allclose(env.eval_segment("cohort_c").utility - held, delta.expand(10, 40), atol=1e-6)
    # boredom: user 3 of cohort A saw item 0 twice, items 1 and 2 once
    bored = torch.zeros(200, 40)
    bored[3, 0], bored[3, 1], bored[3, 2] = -0.4, -0.2, -0.2
    assert torch.allclose(a.utility - before_a, delta.expand(200, 40) + bored, atol=1e-6)


def test_dynamics_are_saved_with_the_learner(tmp_path):
    cfg = dict(SMALL, popularity_feedback=0.5, boredom=0.1)
    first = make_learner(cfg, "ctr", 0)
    first.train_stage("cohort_a", 1)
    first.save(tmp_path)
    resumed = make_learner(cfg, "ctr", 0)
    resumed.load(tmp_path)
    for name in ("cohort_a", "cohort_b"):
        assert torch.equal(first.env.segment(name).utility, resumed.env.segment(name).utility)
    assert resumed.evaluate() == first.evaluate()
    assert not torch.equal(first.env.segment("cohort_b").utility, make_learner(SMALL, "ctr", 0).env.segment("cohort_b").utility)


def test_oracle_catalogue_own_scores_pre_stage_rows_against_the_segments_catalogue():
    cur, own = make_learner(SMALL, "ctr", 0), make_learner(dict(SMALL, oracle_catalogue="own"), "ctr", 0)
    env = own.env
    assert not own.available[30:].any()                          # category 3 (items 30..39) comes with B
    seg = env.segment("cohort_b")
    full = env.available_items(["cohort_b"])
    assert own.oracle_ctr("cohort_b") == pytest.approx(env.oracle_ctr(seg, full))
    assert cur.oracle_ctr("cohort_b") == pytest.approx(env.oracle_ctr(seg, cur.available))
    # B's users like the missing category: its oracle is better, so the base row is lower
    # measured (seed 0): 0.195 against the own catalogue, 0.468 against the current one
    assert own.evaluate()["cohort_b"] < cur.evaluate()["cohort_b"] - 0.2
    assert own.evaluate()["cohort_a"] == cur.evaluate()["cohort_a"]     # A's categories all exist


def test_cohort_d_has_a_like_features_and_rotated_tastes():
    import numpy as np

    env = make_learner(SMALL, "ctr", 0).env
    d = env.segment("cohort_d")
    p, eps = env._cohorts["d"]
    rolled = np.roll(p[:, :3], 1, axis=1)                        # 3 base categories, shift 1, strength 1
    assert torch.allclose(d.interests[:, :3], torch.tensor(rolled, dtype=torch.float32))
    assert torch.allclose(d.features, torch.tensor(p + eps, dtype=torch.float32))   # features: unrotated
    assert d.categories.tolist() == env.segment("cohort_a").categories.tolist() == [True, True, True, False]
    assert env.supersedes(["cohort_a", "cohort_d"]) == {}         # its own users: forgetting, not adaptation


def test_every_new_knob_through_the_continual_loop_and_a_resume(tmp_path):
    """The factorial world's knobs together, through ``run_sequence``; a run stopped after stage 2
    and resumed from its checkpoint ends with the same matrix as an uninterrupted one."""
    from forgetbench.loop.sequence import run_sequence

    tasks = ["cohort_a", "cohort_d", "cohort_a"]
    sec = dict(SMALL, stages=tasks, interactions_per_stage=1024, rounds_per_stage=2, heldout_users=50,
               equal_steps=True, replay_rounds=1, popularity_feedback=0.2, boredom=0.01, oracle_catalogue="own")
    config = {"experiment": "t", "domain": "recsys", "tasks": tasks, "recsys": sec}

    def run(d, k=None):
        return run_sequence({**config, **({"max_stages": k} if k else {})}, domain="recsys", method="offpolicy_pos",
                            seed=0, tasks=tasks[:k] if k else tasks, run_dir=d, keep_checkpoints=True,
                            make_learner=lambda: make_learner(sec, "offpolicy_pos", 0))
    whole = run(tmp_path / "a")
    assert whole["stages"] == ["base", "cohort_a", "cohort_d", "cohort_a@2"]
    # 2 rounds of 512 rows, minibatches of 256, 4 passes; the window adds the previous round's 512 rows
    # (across stages): stage 1 8 + 16 steps, later stages 16 + 16
    assert [s["steps"] for s in whole["train_stats"]] == [24, 32, 32]
    assert all(s["passes_per_round"] == 4 and s["interactions"] == 1024 for s in whole["train_stats"])
    run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b")
    assert resumed["accuracy"] == whole["accuracy"]
