import pytest

from forgetbench.report.stats.frontier import decline_at, interpolate, matched_targets, pareto_frontier
from forgetbench.report.stats.fits import r_squared_quadratic


def test_frontier_keeps_only_non_dominated_points():
    pts = [(0.2, 0.9), (0.5, 0.8), (0.4, 0.7), (0.9, 0.3), (0.5, 0.6), (0.9, 0.1)]
    # (0.4, 0.7) is dominated by (0.5, 0.8); (0.5, 0.6) by (0.5, 0.8); (0.9, 0.1) by (0.9, 0.3)
    assert pareto_frontier(pts) == [(0.2, 0.9), (0.5, 0.8), (0.9, 0.3)]


def test_frontier_minimizing_decline():
    pts = [(0.2, 0.05), (0.6, 0.30), (0.6, 0.10), (0.8, 0.25), (0.5, 0.40)]
    assert pareto_frontier(pts, maximize_y=False) == [(0.2, 0.05), (0.6, 0.10), (0.8, 0.25)]


def test_interpolation_inside_and_outside_the_range():
    curve = [(0.2, 0.05), (0.6, 0.10), (0.8, 0.25)]
    assert interpolate(curve, 0.4) == pytest.approx(0.075)
    assert interpolate(curve, 0.7) == pytest.approx(0.175)
    assert interpolate(curve, 0.8) == pytest.approx(0.25)
    assert interpolate(curve, 0.9) is None and interpolate(curve, 0.1) is None
    assert interpolate([(0.5, 0.3)], 0.5) == 0.3 and interpolate([(0.5, 0.3)], 0.6) is None


def test_decline_at_matched_accuracy_uses_the_frontier():
    # a dominated point (0.6, 0.30) must not raise the interpolated decline
    pts = [(0.2, 0.05), (0.6, 0.30), (0.6, 0.10), (0.8, 0.25)]
    assert decline_at(pts, 0.7) == pytest.approx(0.175)


def test_matched_targets_span_the_overlap():
    assert matched_targets([(0.2, 0.9), (0.4, 0.8)]) == pytest.approx([0.4, 0.6, 0.8])
    assert matched_targets([(0.2, 0.3), (0.5, 0.9)]) == []
    assert matched_targets([(0.5, 0.5), (0.5, 0.9)]) == pytest.approx([0.5])


def test_r2_of_an_exact_quadratic_is_one_and_of_noise_is_low():
    xs = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert r_squared_quadratic(xs, [1 + 2 * x - 0.5 * x * x for x in xs]) == pytest.approx(1.0)
    # y alternates; by symmetry the fit is a + c(x-2)^2: with u = (x-2)^2 = [4,1,0,1,4],
    # SS_tot = 4.8, S_uy = 4, S_uu = 14, SS_reg = 4^2/14, R^2 = (16/14)/4.8 = 5/21
    ys = [1.0, -1.0, 1.0, -1.0, 1.0]
    assert r_squared_quadratic(xs, ys) == pytest.approx(5 / 21)


def test_answer_stats_measure_collapse():
    from forgetbench.llm.eval.diversity import answer_stats

    groups = [["2", "4", "2", "x"], ["6", "6", "6", "6"], ["a", "b", "c", "d"]]
    correct = [[True, True, True, False], [True] * 4, [False] * 4]
    s = answer_stats(groups, correct)
    assert s["distinct_correct"] == pytest.approx((2 + 1 + 0) / 3)
    assert s["top_answer_share"] == pytest.approx((2 / 3 + 1.0) / 2)
