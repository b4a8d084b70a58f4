"""Numbers of the report's tier 2 that the sections only write: matched declines paired by unit,
sweep-point means, per-example event rows, the budget axis; and the shared number formats."""
from __future__ import annotations

from pathlib import Path

import pytest

from forgetbench.report.runs import Run
from forgetbench.report.sections.format import interval_cell, mean_pm, mean_pm_n, plural, table
from forgetbench.report.stats.budget import has_budget_axis
from forgetbench.report.stats.events import event_rows
from forgetbench.report.stats.matched import Matched, matched_pair, point_means
from forgetbench.report.stats.statistics import MeanCI


def run(method: str, label: str, seed: int, acc: float, decline: float, **extra) -> Run:
    data = {"experiment": "toy", "method": method, "family": method, "label": label, "seed": seed,
            "complete": True, "config": {"tasks": ["a"], "model_name_or_path": "base0"},
            "stages": ["base", "a"], "tasks": ["copy", "a"], "accuracy": [[1.0, 0.1], [1.0 - decline, acc]],
            "metrics": {"old_task_decline": [decline]}, **extra}
    return Run(Path(f"{method}/{label}/seed{seed}/results.json"), data)


def test_matched_differences_are_paired_by_unit_in_both_directions():
    m = Matched(0.5, {("b", 0): 0.3, ("b", 1): 0.5, ("b", 2): 0.1}, {("b", 0): 0.1, ("b", 1): 0.2})
    assert m.n_paired == 2
    assert m.first_stats.n == 3 and m.second_stats.mean == pytest.approx(0.15)
    assert m.difference().mean == pytest.approx(0.25)
    assert m.difference(reverse=True).mean == pytest.approx(-0.25)
    assert m.difference().half == m.difference(reverse=True).half


def test_matched_pair_targets_span_the_overlap_and_read_each_unit_off_its_frontier():
    sft = [run("sft", "lr1", 0, 0.4, 0.2), run("sft", "lr2", 0, 0.8, 0.4)]
    grpo = [run("grpo", "lr1", 0, 0.6, 0.1), run("grpo", "lr2", 0, 1.0, 0.3)]
    spans, matched = matched_pair(sft, grpo, n_targets=3)
    assert spans == [(0.4, 0.8), (0.6, 1.0)]
    assert [m.accuracy for m in matched] == pytest.approx([0.6, 0.7, 0.8])
    assert matched[0].first == {("base0", 0): pytest.approx(0.3)}
    assert matched[0].second == {("base0", 0): pytest.approx(0.1)}
    assert matched_pair(sft, [run("grpo", "x", 0, 0.9, 0.1)])[1] == []


def test_point_means_pool_seeds_per_point_and_keep_every_family():
    rs = [run("sft", "lr1", 0, 0.4, 0.2), run("sft", "lr1", 1, 0.6, 0.4), run("kd", "lr1", 0, 0.5, 0.1)]
    rs[2].summary["final_old_task_accuracy"] = None
    pts = point_means(rs, "final_old_task_decline")
    (x, y), = pts["sft"]
    assert (x.mean, y.mean, x.n) == (pytest.approx(0.5), pytest.approx(0.3), 2)
    assert point_means(rs, "final_old_task_accuracy")["kd"] == []


def test_event_rows_are_seed_means_per_stage():
    ev = {"forgetting_events": [4], "learning_events": [2], "turnover": [6], "old_examples": [50]}
    rs = [run("sft", "lr1", 0, 0.5, 0.2, example_events=ev),
          run("sft", "lr1", 1, 0.5, 0.4, example_events={**ev, "forgetting_events": [6]})]
    ((g, k, stage, n, cells),) = event_rows({"sft": rs, "kd": [run("kd", "x", 0, 0.5, 0.1)]})
    assert (g, k, stage, n) == ("sft", 1, "a", 2)
    assert cells == pytest.approx([0.3, 5.0, 2.0, 6.0, 50.0])


def test_budget_axis_needs_two_budgets_of_one_learner():
    assert not has_budget_axis({"ctr": [(1000, "p", None, None)], "ips": [(2000, "q", None, None)]})
    assert has_budget_axis({"ctr": [(1000, "p", None, None), (2000, "q", None, None)]})


def test_number_formats():
    assert mean_pm(MeanCI(0.12345, 0.01, 3)) == "0.123 ± 0.010" and mean_pm(MeanCI(0.5, None, 1)) == "0.500"
    assert mean_pm(MeanCI(None, None, 0)) == "—"
    assert mean_pm_n(MeanCI(0.5, 0.1, 2), 3) == "0.500 ± 0.100 (n=2)" and mean_pm_n(MeanCI(0.5, 0.1, 3), 3) == "0.500 ± 0.100"
    assert interval_cell((0.012, -0.00001, 0.02)) == "+0.0120 [+0.0000, +0.0200]" and interval_cell(None) == "—"
    assert plural(1, "run") == "1 run" and plural(2, "run") == "2 runs"
    assert table(["a", "b"], [["1", "2"]]) == ["| a | b |", "|---|---|", "| 1 | 2 |"]
