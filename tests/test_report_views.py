"""The four views on hand-made runs: paired differences by hand, the no-interval rule, answer.json."""
from __future__ import annotations

import json

import pytest

from forgetbench.report.runs import Run
from forgetbench.report.stats.sequence_scores import SequenceScores
from forgetbench.report.stats.views import bin_label, view_rows


def run(method, seed, base, lr, steps, bits, past=(None, None), path="x"):
    """A 2-stage run (a → b) with prior skill ``p``; ``bits[k][task]`` = per-example correctness."""
    acc = [[s.count("1") / len(s) for s in (row["p"], row["a"], row["b"])] for row in bits]
    data = {"experiment": "e", "domain": "llm", "method": method, "seed": seed, "complete": True,
            "stages": ["base", "a", "b"], "tasks": ["p", "a", "b"], "accuracy": acc, "per_example": bits,
            "config": {"tasks": ["a", "b"], "max_steps": steps, "model_name_or_path": base,
                       method: {"learning_rate": lr}},
            "train_stats": [{"saturation": {"steps_past_saturation": p}} for p in past]}
    return Run(f"{path}/{method}/{seed}/{lr}/{steps}/results.json", data)


BASE = {"p": "1111", "a": "0000", "b": "0000"}


def stages(p1, a1, p2, a2, b2):
    """Rows base, after a, after b (prior p, tasks a and b)."""
    return [BASE, {"p": p1, "a": a1, "b": "0000"}, {"p": p2, "a": a2, "b": b2}]


def test_matched_budget_and_per_stage_are_paired_differences_by_hand():
    # sft, seed 0: after a: p 1110 (dec 0.25); after b: p 1100, a 1111->1000 : final decline mean(0.5, 0.75)=0.625
    # grpo, seed 0: after a: p 1111 (dec 0); after b: p 1110, a 1111->1110: mean(0.25, 0.25) = 0.25
    runs = [run("sft", 0, "m", 1e-4, 8, stages("1110", "1111", "1100", "1000", "1111")),
            run("grpo", 0, "m", 1e-4, 8, stages("1111", "1111", "1110", "1110", "1111"))]
    rows = view_rows("a → b", SequenceScores(runs), "sft", n_boot=50)
    budget = [r for r in rows if r.view == "matched_budget"]
    assert len(budget) == 1 and budget[0].at == {"learning_rate": 1e-4, "max_steps": 8}
    assert budget[0].estimate == pytest.approx(0.625 - 0.25) and budget[0].comparison == "sft - grpo"
    per_stage = {r.at: r.estimate for r in rows if r.view == "per_stage"}
    assert per_stage == pytest.approx({1: 0.25 - 0.0, 2: 0.375})
    # one replica, one seed: no interval, said so
    assert all(r.low is None and r.high is None for r in rows)
    assert all(r.resampling.startswith("none (1 replica, 1 seed") for r in rows) and all(r.units == 1 for r in rows)


def test_two_seeds_give_an_interval_over_seeds_and_pair_by_unit():
    runs = [run("sft", 0, "m", 1e-4, 8, stages("1110", "1111", "1100", "1000", "1111")),
            run("grpo", 0, "m", 1e-4, 8, stages("1111", "1111", "1110", "1110", "1111")),
            run("sft", 1, "m", 1e-4, 8, stages("1111", "1111", "1111", "1111", "1111")),
            run("grpo", 1, "m", 1e-4, 8, stages("1111", "1111", "1110", "1111", "1111")),
            run("grpo", 2, "m", 1e-4, 8, stages("0000", "1111", "0000", "0000", "1111"))]   # no sft partner
    rows = [r for r in view_rows("a → b", SequenceScores(runs), "sft", n_boot=200) if r.view == "matched_budget"]
    (r,) = rows
    assert r.units == 2                                            # seed 2 has no sft run: not paired
    assert r.estimate == pytest.approx(((0.625 - 0.25) + (0.0 - 0.125)) / 2)
    assert r.resampling == "seeds → examples"
    assert r.low <= r.estimate <= r.high and r.low < r.high
    lone = [r for r in view_rows("a → b", SequenceScores(runs[:1] + runs[1:2] + runs[2:]), "sft", n_boot=50)
            if r.view == "matched_budget"]
    assert lone[0].units == 2
    one_unit = run("grpo", 0, "m", 3e-4, 8, stages("1111", "1111", "1110", "1110", "1111"))
    sft_one = run("sft", 0, "m", 3e-4, 8, stages("1110", "1111", "1100", "1000", "1111"))
    cells = {(r.view, str(r.at)): r for r in view_rows("a → b", SequenceScores(runs + [one_unit, sft_one]), "sft", n_boot=50)}
    solo = cells[("matched_budget", str({"learning_rate": 3e-4, "max_steps": 8}))]
    assert solo.units == 1 and solo.low is None and solo.high is None and solo.resampling.startswith("none (1 unit")


def test_past_saturation_bins_and_matched_accuracy_on_mean_stage_accuracy():
    a = run("sft", 0, "m", 1e-4, 8, stages("1110", "1111", "1100", "1000", "1111"), past=(0, 5))
    b = run("grpo", 0, "m", 1e-4, 8, stages("1111", "1111", "1110", "1110", "1111"), past=(0, 6))
    rows = view_rows("a → b", SequenceScores([a, b]), "sft", n_boot=0)
    past = {r.at: r.estimate for r in rows if r.view == "past_saturation"}
    assert past == pytest.approx({"0": 0.25, "1-8": 0.375})
    assert [bin_label(x) for x in ((0, 0), (1, 8), (129, 10 ** 9))] == ["0", "1-8", "129+"]
    # both reach mean new-task accuracy 1.0 only; the frontier from the base (0, 0) to (1, decline):
    # at accuracy 0.6 the decline is 0.6 x the run's, so the difference is 0.6 x (0.625 - 0.25)
    acc = {(r.at, r.measure): r.estimate for r in rows if r.view == "matched_accuracy"}
    assert acc[(0.6, "final_old_task_decline")] == pytest.approx(0.6 * 0.375)
    assert acc[(0.6, "mean_stage_old_task_decline")] == pytest.approx(0.6 * ((0.25 + 0.625) / 2 - 0.125))


def test_answer_json_equals_the_reports_tables(tmp_path):
    from forgetbench.report import write_report
    from forgetbench.report.sections.format import interval_cell

    for seed in (0, 1):
        for method, bits in (("sft", stages("1110", "1111", "1100", "1000", "1111")),
                             ("grpo", stages("1111", "1111", "1110", "1110" if seed else "1111", "1111"))):
            r = run(method, seed, "m", 1e-4, 8, bits)
            d = tmp_path / method / f"seed{seed}"
            d.mkdir(parents=True)
            (d / "results.json").write_text(json.dumps(r.data))
    report = write_report(tmp_path).read_text()
    rows = json.loads((tmp_path / "answer.json").read_text())
    assert rows and {r["view"] for r in rows} == {"matched_accuracy", "matched_budget", "per_stage"}
    every = report.split("Every cell (the rows of `answer.json`):")[1]
    cells = [line for line in every.split("\n\n")[1].splitlines() if line.startswith("| a → b |")]
    assert len(cells) == len(rows)
    for line, r in zip(cells, rows):
        trained, view, comparison, measure, at, value, units = [c.strip() for c in line.strip("|").split("|")]
        assert (trained, view, comparison, measure, int(units)) == (r["trained"], r["view"], r["comparison"],
                                                                    r["measure"], r["units"])
        assert value == interval_cell((r["estimate"], r["low"], r["high"]))
        assert set(r) >= {"view", "trained", "comparison", "at", "estimate", "low", "high", "units", "resampling"}
    budget = next(r for r in rows if r["view"] == "matched_budget")
    assert budget["at"] == {"learning_rate": 1e-4, "max_steps": 8} and budget["resampling"] == "seeds → examples"
    assert "The regime table" in report.split("**The answer**")[0]     # the regime table comes first
