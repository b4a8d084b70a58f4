"""The recommender 2 x 2 (report.stats.recsys_factorial) and the multiplicity corrections
(report.stats.multiplicity) on constructed numbers."""
import numpy as np
import pytest

from forgetbench.report.stats.recsys_factorial import EFFECTS, effects_of, recsys_factorial_rows, Effect
from forgetbench.report.stats.multiplicity import Simultaneous, holm, max_t


def test_holm_on_constructed_p_values():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])          # capped at 1
    assert holm([0.02]) == pytest.approx([0.02])                  # one comparison: unchanged


def test_max_t_widens_with_independent_comparisons_but_not_with_copies():
    rng = np.random.default_rng(1)
    one = {s: float(v) for s, v in enumerate(rng.normal(1.0, 1.0, 10))}
    r1, c1 = max_t([one])
    r5, c5 = max_t([one] * 5)
    # five copies of one comparison are one comparison: the same critical value and interval
    assert c5 == pytest.approx(c1) and r5[0].low == pytest.approx(r1[0].low)
    assert 1.5 < c1 < 2.5                                         # ~ the 95% normal quantile
    indep = [{s: float(v) for s, v in enumerate(rng.normal(0.0, 1.0, 10))} for _ in range(5)]
    _, c_ind = max_t([one] + indep)
    assert c_ind > c1 + 0.3
    # the estimate is the plain mean; the interval is estimate +- c se
    r = r1[0]
    assert r.estimate == pytest.approx(np.mean(list(one.values())))
    assert r.high - r.estimate == pytest.approx(r.estimate - r.low)


def test_max_t_constant_difference_and_bootstrap_p():
    const = {s: 0.5 for s in range(6)}
    zero = {s: 0.0 for s in range(6)}
    (c, z), _ = max_t([const, zero], n_boot=999)
    assert (c.low, c.high, c.p) == (0.5, 0.5, pytest.approx(1 / 1000))
    assert (z.estimate, z.p) == (0.0, 1.0)
    assert c.p_holm == pytest.approx(2 / 1000) and z.p_holm == 1.0
    with pytest.raises(ValueError, match="2 shared units"):
        max_t([{0: 1.0}])


def test_effects_of_a_crafted_two_by_two():
    values = {"ctr": {0: 1.0, 1: 1.0}, "next_item": {0: 3.0, 1: 3.0},          # logs x likelihood: 2, 2
              "offpolicy_pos": {0: 4.0, 1: 5.0}, "self_sup": {0: 3.0, 1: 4.0},
              "onpolicy_pos": {0: 7.0, 1: 8.0}}
    got = dict(effects_of(values))
    # data: ((3-2) + (7-4)) / 2 = 2, ((4-2) + (8-5)) / 2 = 2.5
    assert got[EFFECTS[0]] == pytest.approx({0: 2.0, 1: 2.5})
    # loss: ((4-2) + (7-3)) / 2 = 3, ((5-2) + (8-4)) / 2 = 3.5
    assert got[EFFECTS[1]] == pytest.approx({0: 3.0, 1: 3.5})
    # interaction: (7-4) - (3-2) = 2, (8-5) - (4-2) = 1
    assert got[EFFECTS[2]] == pytest.approx({0: 2.0, 1: 1.0})
    assert got["ctr − onpolicy_pos"] == {0: -6.0, 1: -7.0}
    assert len(got) == 3 + 10                                      # 5 learners: 10 pairs
    # a cell without runs: no effects, the pairs remain
    no_cell = dict(effects_of({k: v for k, v in values.items() if k != "offpolicy_pos"}))
    assert not set(EFFECTS) & set(no_cell) and len(no_cell) == 6


def test_answer_rows_carry_the_view_and_the_correction():
    e = Effect("coverage", EFFECTS[0], Simultaneous(0.1, -0.05, 0.25, 0.2, 0.6, 10), "cohort_a → cohort_b")
    (row,) = recsys_factorial_rows([e])
    assert (row.view, row.measure, row.estimate, row.low, row.high, row.units) == \
        ("factorial", "coverage", 0.1, -0.05, 0.25, 10)
    assert row.resampling == "seeds (max-t bootstrap, simultaneous over 1 comparisons)"


def test_derived_readings_of_a_crafted_run(tmp_path):
    from forgetbench.report.runs.readings import metric_value
    from forgetbench.report.runs.run import Run

    data = {"domain": "recsys", "method": "ctr", "seed": 0, "stages": ["base", "a", "b", "a@2"],
            "tasks": ["a", "b"], "complete": True,
            "accuracy": [[0.5, 0.5], [0.9, 0.6], [0.7, 0.9], [0.95, 0.8]],
            "train_stats": [{"interactions": 100, "logged_ctr": 0.2}, {"interactions": 300, "logged_ctr": 0.6}],
            "extras": [{"defects": {"coverage": 0.4}, "defects_oracle": {"coverage": 0.5}},
                       {"defects": {"coverage": 0.3}, "defects_oracle": {"coverage": 0.35}}]}
    r = Run(tmp_path / "results.json", data)
    # declines: stage 2 a 0.9 - 0.7 = 0.2; stage 3 b 0.9 - 0.8 = 0.1
    assert metric_value(r, "mean_old_cohort_decline") == pytest.approx(0.15)
    assert metric_value(r, "max_old_cohort_decline") == pytest.approx(0.2)
    assert metric_value(r, "cumulative_ctr") == pytest.approx((20 + 180) / 400)
    assert metric_value(r, "excess_coverage") == pytest.approx(-0.05)     # the final stage's
    assert metric_value(r, "excess_exposure_gini") is None


def test_the_report_writes_the_two_by_two_and_its_answer_rows(tmp_path):
    import json

    from forgetbench.report import write_report

    # crafted coverage per learner (seeds 0..3 add 0.01 s): the data effect is +0.2 by construction
    cov = {"ctr": 0.3, "next_item": 0.5, "offpolicy_pos": 0.6, "self_sup": 0.6, "onpolicy_pos": 0.8}
    for m, c in cov.items():
        for s in range(4):
            d = {"experiment": "f", "domain": "recsys", "method": m, "seed": s, "family": m, "label": "",
                 "config": {"recsys": {"stages": ["cohort_a", "cohort_b"]}}, "stages": ["base", "cohort_a", "cohort_b"],
                 "tasks": ["cohort_a", "cohort_b"], "complete": True,
                 "accuracy": [[0.5, 0.5], [0.9, 0.6], [0.8, 0.9]], "metrics": {"old_task_decline": [None, 0.1]},
                 "defects": [{"coverage": c}, {"coverage": c + 0.01 * s}]}
            (tmp_path / m / f"seed{s}").mkdir(parents=True)
            (tmp_path / m / f"seed{s}" / "results.json").write_text(json.dumps(d))
    md = write_report(tmp_path).read_text()
    assert "### The 2 × 2: data × loss" in md
    rows = [r for r in json.loads((tmp_path / "answer.json").read_text()) if r["view"] == "factorial"]
    data = [r for r in rows if r["measure"] == "coverage" and r["comparison"] == EFFECTS[0]]
    # ((0.6 - 0.4) + (0.8 - 0.6)) / 2 = 0.2 in every seed: a point interval
    assert len(data) == 1 and data[0]["estimate"] == pytest.approx(0.2)
    assert data[0]["low"] == pytest.approx(0.2) and data[0]["units"] == 4
    assert {r["experiment"] for r in rows} == {"f"} and data[0]["trained"] == "cohort_a → cohort_b"


def test_stage_new_accuracy_readings(tmp_path):
    from forgetbench.report.runs.readings import metric_value
    from forgetbench.report.runs.run import Run

    r = Run(tmp_path / "results.json", {"domain": "recsys", "stages": ["base", "a", "b", "a@2"], "tasks": ["a", "b"],
                                        "accuracy": [[0.5, 0.5], [0.9, 0.6], [0.7, 0.8], [0.95, 0.8]]})
    # right after each stage: a 0.9, b 0.8, a 0.95
    assert metric_value(r, "min_stage_new_accuracy") == pytest.approx(0.8)
    assert metric_value(r, "mean_stage_new_accuracy") == pytest.approx((0.9 + 0.8 + 0.95) / 3)


def test_forgetting_at_matched_learning_on_crafted_frontiers(tmp_path):
    """Two points per learner at mean stage CTR/oracle 0.80 and 0.90 with known declines: every learner's
    line is read at 0.85, the middle of the overlap, so each learner's value is the mean of its two."""
    from forgetbench.report.runs.run import Run
    from forgetbench.report.stats.recsys_factorial import MATCHED_AT, recsys_factorial

    declines = {"ctr": (0.1, 0.3), "next_item": (0.2, 0.4), "offpolicy_pos": (0.0, 0.1),
                "self_sup": (0.1, 0.2), "onpolicy_pos": (0.0, 0.02)}
    runs = []
    for m, ys in declines.items():
        for x, y in zip((0.8, 0.9), ys):
            for s in range(3):
                # stage 1 learns a to x, stage 2 learns b to x and a falls by y: mean stage acc x, decline y
                d = {"experiment": "f", "domain": "recsys", "method": m, "seed": s, "family": m, "label": "",
                     "config": {"recsys": {"stages": ["cohort_a", "cohort_b"]}}, "stages": ["base", "cohort_a", "cohort_b"],
                     "tasks": ["cohort_a", "cohort_b"], "complete": True,
                     "accuracy": [[0.5, 0.5], [x, 0.5], [x - y, x]], "metrics": {"old_task_decline": [None, y]}}
                runs.append(Run(tmp_path / m / f"x={x}" / f"seed{s}" / "results.json", d))
    effects, _ = recsys_factorial(runs, tmp_path)
    got = {(e.measure, e.comparison): e.result.estimate for e in effects if e.at == MATCHED_AT}
    # cells at 0.85: logs x likelihood (0.2 + 0.3) / 2 = 0.25, logs x pg 0.05, own x likelihood 0.15, own x pg 0.01
    assert got["mean_old_cohort_decline", EFFECTS[0]] == pytest.approx(((0.15 - 0.25) + (0.01 - 0.05)) / 2)
    assert got["mean_old_cohort_decline", EFFECTS[1]] == pytest.approx(((0.05 - 0.25) + (0.01 - 0.15)) / 2)
    assert got["mean_old_cohort_decline", EFFECTS[2]] == pytest.approx((0.01 - 0.05) - (0.15 - 0.25))
    assert {m for m, _ in got} == {"final_old_task_decline", "mean_old_cohort_decline", "max_old_cohort_decline"}
