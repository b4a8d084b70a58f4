"""The recommender's dynamics and replay comparisons (report.stats.recsys_dynamics): pairing each knob's
runs with the same learner's plain run at the same point, the per-learner change and the 2 x 2 on it,
on crafted runs with known values."""
import json

import pytest

from forgetbench.report.runs.run import Run
from forgetbench.report.stats.recsys_dynamics import WITH_WITHOUT, dynamics_pairs, knobs_on, recsys_dynamics
from forgetbench.report.stats.recsys_factorial import EFFECTS

LEARNERS = ("ctr", "next_item", "offpolicy_pos", "self_sup", "onpolicy_pos")
#: crafted excess popularity lift per learner: plain, and with popularity_feedback 0.2
PLAIN = {"ctr": 0.2, "next_item": 0.4, "offpolicy_pos": 0.0, "self_sup": 0.1, "onpolicy_pos": 0.05}
LOOP = {"ctr": 0.5, "next_item": 0.5, "offpolicy_pos": 0.1, "self_sup": 0.6, "onpolicy_pos": 0.15}


def _data(method, seed, lift, family, knobs=None, lr=0.03, n=40960):
    rec = {"stages": ["cohort_a", "cohort_b"], "learning_rates": {method: lr}, "interactions_per_stage": n,
           "popularity_feedback": 0.0, "boredom": 0.0, "replay_rounds": 0, **(knobs or {})}
    return {"experiment": "d", "domain": "recsys", "method": method, "seed": seed, "family": family,
            "config": {"recsys": rec}, "stages": ["base", "cohort_a", "cohort_b"],
            "tasks": ["cohort_a", "cohort_b"], "complete": True,
            "accuracy": [[0.5, 0.5], [0.9, 0.6], [0.8, 0.9]],
            "defects": [{"popularity_lift": lift}, {"popularity_lift": lift + 0.4}],
            "defects_oracle": [{"popularity_lift": 0.4}, {"popularity_lift": 0.4}]}


def _runs(tmp_path, seeds=4):
    runs = []
    for m in LEARNERS:
        for s in range(seeds):
            for fam, lift, knobs, lr in ((m, PLAIN[m], None, 0.03), (m, PLAIN[m] + 1.0, None, 0.1),
                                         (f"{m}_popularity", LOOP[m] + 0.01 * s, {"popularity_feedback": 0.2}, 0.03)):
                d = _data(m, s, lift, fam, knobs, lr)
                d["defects_oracle"][-1] = {"popularity_lift": 0.4 + 0.01 * s * (fam != m)}
                d["accuracy"][-1][-1] -= 0.01 * s * (fam != m)       # the knob costs 0.01 s of new CTR
                runs.append(Run(tmp_path / fam / f"lr{lr}" / f"seed{s}" / "results.json", d))
    return runs


def test_knobs_and_pairing(tmp_path):
    runs = _runs(tmp_path)
    assert knobs_on(runs[0]) == "" and knobs_on(runs[2]) == "popularity_feedback=0.2"
    pairs = dynamics_pairs(runs)
    # the knob's runs pair with the plain runs at lr 0.03 (not those at 0.1), per learner, every seed
    assert list(pairs) == ["popularity_feedback=0.2, lr 0.03, 40,960 per stage"]
    (setting, learners), = pairs.items()
    assert set(learners) == set(LEARNERS)
    with_, without = learners["ctr"]
    assert sorted(with_) == sorted(without) == [0, 1, 2, 3]
    assert without[0].data["config"]["recsys"]["learning_rates"]["ctr"] == 0.03


def test_changes_and_the_two_by_two_on_them(tmp_path):
    effects, crit = recsys_dynamics(_runs(tmp_path))
    got = {(e.measure, e.comparison): e.result for e in effects}
    # excess = the final stage's lift minus the oracle's: (LOOP + 0.01 s + 0.4) - (0.4 + 0.01 s) = LOOP
    # for the knob's runs, PLAIN for the plain ones: Δ = LOOP - PLAIN in every seed (a point interval)
    for m in LEARNERS:
        r = got["excess_popularity_lift", f"{m}: {WITH_WITHOUT}"]
        assert r.estimate == pytest.approx(LOOP[m] - PLAIN[m]) and r.low == pytest.approx(r.high)
        assert r.units == 4
    # Δ: ctr 0.3, next_item 0.1 (logs x likelihood: mean 0.2), offpolicy_pos 0.1, self_sup 0.5, onpolicy_pos 0.1
    data = got["excess_popularity_lift", EFFECTS[0]].estimate
    loss = got["excess_popularity_lift", EFFECTS[1]].estimate
    inter = got["excess_popularity_lift", EFFECTS[2]].estimate
    assert data == pytest.approx(((0.5 - 0.2) + (0.1 - 0.1)) / 2)
    assert loss == pytest.approx(((0.1 - 0.2) + (0.1 - 0.5)) / 2)
    assert inter == pytest.approx((0.1 - 0.1) - (0.5 - 0.2))
    # the final new-segment CTR/oracle changes by -0.01 s: mean -0.015, an interval with width around it
    new = got["final_new_task_accuracy", f"ctr: {WITH_WITHOUT}"]
    assert new.estimate == pytest.approx(-0.015) and new.low < -0.015 < new.high and crit > 0


def test_the_report_writes_the_section_and_its_answer_rows(tmp_path):
    from forgetbench.report import write_report

    for r in _runs(tmp_path, seeds=3):
        r.path.parent.mkdir(parents=True, exist_ok=True)
        r.path.write_text(json.dumps(r.data))
    md = write_report(tmp_path).read_text()
    assert "### Dynamics and replay: each against the same learner without it" in md
    assert "**popularity_feedback=0.2, lr 0.03, 40,960 per stage**" in md
    rows = [r for r in json.loads((tmp_path / "answer.json").read_text()) if r["view"] == "dynamics"]
    self_sup = [r for r in rows if r["comparison"] == f"self_sup: {WITH_WITHOUT}" and r["measure"] == "excess_popularity_lift"]
    assert len(self_sup) == 1 and self_sup[0]["estimate"] == pytest.approx(0.5)
    assert self_sup[0]["at"] == "popularity_feedback=0.2, lr 0.03, 40,960 per stage" and self_sup[0]["units"] == 3


def test_no_knob_runs_no_section(tmp_path):
    runs = [r for r in _runs(tmp_path) if not knobs_on(r)]
    assert recsys_dynamics(runs)[0] == []
