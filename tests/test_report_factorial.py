"""The 2×2 on hand-made runs: main and simple effects of the data source and the objective by hand, at
matched budget and matched accuracy; the staleness dial; the teacher-KL slope; answer.json rows."""
from __future__ import annotations

import json

import numpy as np
import pytest

from forgetbench.report.runs import Run
from forgetbench.report.stats.factorial import experiment_factorials, factorial
from forgetbench.report.stats.sequence_scores import SequenceScores

BASE = {"p": "1111", "a": "0000", "b": "0000"}


def run(method, seed, x, y, *, family=None, section=None, mix=None, kl=None, lr=1e-4, steps=8):
    """A 2-stage run (a → b, prior p) whose final old-task decline is (x + y) / 8: x of p's 4 examples and y of
    a's lost after b (both new tasks learned to 1.0, from 0 in the base)."""
    p2, a2 = "1" * (4 - x) + "0" * x, "1" * (4 - y) + "0" * y
    bits = [BASE, {"p": "1111", "a": "1111", "b": "0000"}, {"p": p2, "a": a2, "b": "1111"}]
    acc = [[s.count("1") / 4 for s in (row["p"], row["a"], row["b"])] for row in bits]
    config = {"tasks": ["a", "b"], "max_steps": steps, "model_name_or_path": "m",
              method: {"learning_rate": lr, **(section or {})}, **({"teacher_mix": mix} if mix is not None else {})}
    data = {"experiment": "e", "domain": "llm", "method": method, "seed": seed, "complete": True,
            "stages": ["base", "a", "b"], "tasks": ["p", "a", "b"], "accuracy": acc, "per_example": bits,
            "config": config, "family": family or method,
            "train_stats": [{"teacher_forward_kl": kl} if kl is not None else {} for _ in range(2)]}
    return Run(f"x/{family or method}/{seed}/{mix}/results.json", data)


#: final declines: sft 0.5, rft 0.25, grpo_offpolicy 0.375, grpo 0.0, kd 0.625, opd 0.5
PLAIN = [("sft", 2, 2), ("rft", 1, 1), ("grpo_offpolicy", 2, 1), ("grpo", 0, 0), ("kd", 3, 2), ("opd", 2, 2)]


def plain(seed=0):
    return [run(m, seed, x, y) for m, x, y in PLAIN]


def test_main_and_simple_effects_by_hand_at_matched_budget_and_accuracy():
    runs = plain() + [run("grpo", 0, 1, 1, family="grpo_dial", section={"refresh_every": 4})]   # a dial run: not a cell
    f = factorial("a → b", SequenceScores(runs), n_boot=0)
    budget = {r.comparison: r.estimate for r in f.rows if r.at == {"learning_rate": 1e-4, "max_steps": 8}}
    # on − off: likelihood 0.25 − 0.5, policy gradient 0.0 − 0.375, distillation 0.5 − 0.625; preference: no cells
    assert budget["on_policy - off_policy"] == pytest.approx((-0.25 - 0.375 - 0.125) / 3)
    # pg − likelihood: off-policy 0.375 − 0.5, on-policy 0.0 − 0.25
    assert budget["policy_gradient - likelihood"] == pytest.approx((-0.125 - 0.25) / 2)
    assert budget["on_policy - off_policy | policy_gradient"] == pytest.approx(-0.375)
    assert budget["on_policy - off_policy | distillation"] == pytest.approx(-0.125)
    assert budget["policy_gradient - likelihood | on_policy"] == pytest.approx(-0.25)
    assert "on_policy - off_policy | preference" not in budget
    # matched accuracy: each unit's frontier runs from the base (0, 0) to (1.0, decline): at 0.6, 0.6 × decline
    acc = {r.comparison: r.estimate for r in f.rows if r.at == 0.6}
    assert acc["on_policy - off_policy"] == pytest.approx(0.6 * -0.25)
    assert acc["policy_gradient - likelihood"] == pytest.approx(0.6 * -0.1875)
    assert all(r.view == "factorial" and r.low is None and r.units == 1 for r in f.rows)
    assert all(r.resampling.startswith("none (1 replica, 1 seed") for r in f.rows)


def test_pooling_uses_the_pairs_a_unit_has_and_two_seeds_give_intervals():
    runs = plain(0) + [run(m, 1, x, y) for m, x, y in PLAIN if m in ("sft", "rft")] + [run("grpo", 1, 1, 0)]
    f = factorial("a → b", SequenceScores(runs), n_boot=200)
    (r,) = [r for r in f.rows if r.comparison == "on_policy - off_policy" and isinstance(r.at, dict)]
    # seed 0: −0.25 (three pairs); seed 1: likelihood only, −0.25; mean −0.25 over 2 units
    assert r.estimate == pytest.approx(-0.25) and r.units == 2
    assert r.resampling == "seeds → examples" and r.low <= r.estimate <= r.high
    (o,) = [r for r in f.rows if r.comparison == "policy_gradient - likelihood" and isinstance(r.at, dict)]
    assert o.estimate == pytest.approx(((-0.125 - 0.25) / 2 + (0.125 - 0.25)) / 2)   # seed 1: on-policy only


def test_the_staleness_dial_and_the_teacher_slope():
    runs = plain() + [run("grpo", 0, 1, 1, family="grpo_dial", section={"refresh_every": 4})]
    # ten sft runs at teacher KL i/2 nats with final decline i/8: the slope is 0.25 per nat
    mixes = [0, 1, 2, 3, 4, 5, 6, 7, 0, 7]
    runs += [run("sft", 0, min(i, 4), max(i - 4, 0), family="sft_mix", mix=i / 7, kl=i / 2) for i in mixes]
    f = factorial("a → b", SequenceScores(runs), n_boot=0)
    dial = {k: est for _, k, est, *_ in f.dial}
    assert dial == pytest.approx({1: 0.0, 4: 0.25, None: 0.375})
    vs = {r.comparison: r.estimate for r in f.rows if r.comparison.startswith("refresh_every")}
    assert vs == pytest.approx({"refresh_every=4 - refresh_every=1": 0.25, "refresh_every=never - refresh_every=1": 0.375})
    (slope,) = [r for r in f.rows if r.measure == "slope"]
    assert slope.estimate == pytest.approx(0.25) and slope.units == 10
    points = {mix: (kl, y) for m, _, mix, kl, y, _ in f.teacher}
    assert points[0.0] == pytest.approx((0.0, 0.0)) and points[1.0] == pytest.approx((3.5, 0.875))
    # nine runs: no fit
    assert not [r for r in factorial("a → b", SequenceScores(runs[:-1]), n_boot=0).rows if r.measure == "slope"]
    xs, ys = np.array([i / 2 for i in mixes]), np.array([i / 8 for i in mixes])
    assert np.polyfit(xs, ys, 1)[0] == pytest.approx(0.25)


def test_the_section_shows_only_for_its_runs_and_answer_json_has_its_rows(tmp_path):
    from forgetbench.report import write_report

    assert experiment_factorials([run("sft", 0, 2, 2), run("rft", 0, 1, 1)]) == []
    for seed in (0, 1):
        for r in plain(seed):
            d = tmp_path / r.method / f"seed{seed}"
            d.mkdir(parents=True)
            (d / "results.json").write_text(json.dumps(r.data))
    report = write_report(tmp_path).read_text()
    rows = [r for r in json.loads((tmp_path / "answer.json").read_text()) if r["view"] == "factorial"]
    assert "### The 2×2: data source × objective" in report
    main = next(r for r in rows if r["comparison"] == "on_policy - off_policy" and r["at"] == {"learning_rate": 1e-4,
                                                                                                   "max_steps": 8})
    assert main["estimate"] == pytest.approx(-0.25) and main["units"] == 2 and main["low"] is not None
    line = next(line for line in report.splitlines() if line.startswith("| on_policy - off_policy | lr 0.0001, 8 steps"))
    assert f"{main['estimate']:+.4f} [{main['low']:+.4f}, {main['high']:+.4f}]" in line
