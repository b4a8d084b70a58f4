"""The hierarchical bootstrap on constructed cases with known intervals, and the matched-accuracy curve
on hand-made frontiers (runs built from per-example strings)."""
import math

import numpy as np
import pytest

from forgetbench.report.stats.bootstrap import bootstrap, draw, nested_mean
from forgetbench.report.stats.curve import curves, frontier_curve
from forgetbench.report.runs import Run


def _unit_mean(values):
    return lambda d: nested_mean({u: np.array([v]) for u, v in values.items()}, d.groups)


def test_nested_mean_is_the_mean_over_bases_of_the_seed_means():
    groups = (((("b0", 0), ("b0", 1)), (("b1", 0),)))
    values = {("b0", 0): np.array([1.0, np.nan]), ("b0", 1): np.array([3.0, 5.0]),
              ("b1", 0): np.array([10.0, np.nan])}
    # entry 0: (mean(1, 3) + 10) / 2 = 6; entry 1: only b0 seed 1 reaches it -> 5
    assert nested_mean(values, groups) == pytest.approx([6.0, 5.0])
    # a base drawn twice counts twice: (2 + 2 + 10) / 3
    assert nested_mean(values, (groups[0], groups[0], groups[1]))[0] == pytest.approx(14 / 3)


def test_bases_level_two_replicas_gives_the_exact_interval():
    # two bases with value 0 and 1: the replicate mean is 0, 0.5, 1 with p = 1/4, 1/2, 1/4,
    # so the 95% percentile interval is exactly [0, 1]
    iv = bootstrap(_unit_mean({("a", 0): 0.0, ("b", 0): 1.0}), {"a": [0], "b": [0]}, {}, n_boot=400,
                   levels=("bases",))
    assert iv.estimate[0] == 0.5 and iv.low[0] == 0.0 and iv.high[0] == 1.0
    assert "bases" in iv.how and "seeds" not in iv.how


def test_seeds_level_four_seeds_gives_the_binomial_interval():
    # one base, seeds 0, 0, 0, 1: the replicate mean is Binomial(4, 1/4) / 4; P(mean <= 0.5) = 0.949,
    # P(mean <= 0.75) = 0.996 -> the 97.5% quantile is 0.75, the 2.5% one is 0 (P(0) = 0.316)
    values = {("a", s): float(s == 3) for s in range(4)}
    iv = bootstrap(_unit_mean(values), {"a": [0, 1, 2, 3]}, {}, n_boot=2000, levels=("seeds",))
    assert iv.estimate[0] == 0.25 and iv.low[0] == 0.0 and iv.high[0] == 0.75


def test_examples_level_matches_the_binomial_standard_error():
    # 400 examples, 120 right: the bootstrap interval of the accuracy is 0.3 ± 1.96·sqrt(0.3·0.7/400)
    correct = np.array([1.0] * 120 + [0.0] * 280)
    iv = bootstrap(lambda d: np.array([d.accuracy("t", correct)]), {"a": [0]}, {"t": 400}, n_boot=3000,
                   levels=("examples",))
    half = 1.96 * math.sqrt(0.3 * 0.7 / 400)
    assert iv.estimate[0] == pytest.approx(0.3)
    assert iv.low[0] == pytest.approx(0.3 - half, abs=0.01) and iv.high[0] == pytest.approx(0.3 + half, abs=0.01)


def test_a_draw_shares_one_example_draw_per_task_and_keeps_unresampled_levels():
    rng = np.random.default_rng(1)
    d = draw(rng, {"a": [0, 1], "b": [2]}, {"t": 5}, levels=("examples",))
    assert d.groups == ((("a", 0), ("a", 1)), (("b", 2),))
    assert d.weights["t"].sum() == 5
    with pytest.raises(ValueError, match="unknown bootstrap levels"):
        draw(rng, {"a": [0]}, {}, levels=("replicas",))


def test_the_base_precedes_the_frontier_only_on_its_left():
    assert frontier_curve([(0.8, 0.0), (1.0, 0.1), (0.6, 0.2)], (0.2, 0.0)) == [(0.2, 0.0), (0.8, 0.0), (1.0, 0.1)]
    assert frontier_curve([(0.1, 0.0)], (0.2, 0.0)) == [(0.1, 0.0)]


def _bits(k: int, n: int = 10) -> str:
    return "1" * k + "0" * (n - k)


def _run(family: str, base: str, seed: int, new: int, old: int, base_new: int = 2, label: str = "p") -> Run:
    """A one-stage run on task ``new`` (10 examples) with one old task ``old`` (10 examples, 10 right
    at the base): ``new`` / ``old`` = examples right after the stage."""
    C = [{"nt": _bits(base_new), "ot": _bits(10)}, {"nt": _bits(new), "ot": _bits(old)}]
    acc = [[row["nt"].count("1") / 10, row["ot"].count("1") / 10] for row in C]
    return Run(f"/x/{family}/{label}/{seed}", {
        "experiment": "e", "domain": "llm", "method": family, "family": family, "label": f"base={base},{label}",
        "seed": seed, "config": {"model_name_or_path": base, "tasks": ["nt"]}, "stages": ["base", "nt"],
        "tasks": ["nt", "ot"], "accuracy": acc, "per_example": C, "complete": True,
        "metrics": {"old_task_decline": [acc[0][1] - acc[1][1]]}})


def test_curve_on_hand_made_frontiers():
    # unit (b0, 0): SFT frontier (0.2, 0) -> (0.6, 0.1) -> (1.0, 0.3); GRPO (0.2, 0) -> (0.8, 0) -> (1.0, 0.1)
    # unit (b1, 0): SFT (0.2, 0) -> (1.0, 0.2); GRPO (0.2, 0) -> (1.0, 0.0)
    runs = [_run("sft", "b0", 0, 6, 9, label="s1"), _run("sft", "b0", 0, 10, 7, label="s2"),
            _run("sft", "b0", 0, 4, 6, label="s3"),                    # dominated: not on the frontier
            _run("grpo", "b0", 0, 8, 10, label="g1"), _run("grpo", "b0", 0, 10, 9, label="g2"),
            _run("sft", "b1", 0, 10, 8, label="s1"), _run("grpo", "b1", 0, 10, 10, label="g1")]
    (c,) = curves(runs, n_boot=0)
    assert list(c.decline) == ["sft", "grpo"] and list(c.diff) == ["grpo"]
    # at 0.7: b0 sft 0.15, grpo 0 -> 0.15; b1 sft 0.2·0.5/0.8 = 0.125, grpo 0 -> 0.125; mean 0.1375
    assert c.at("grpo", 0.7)[0] == pytest.approx((0.15 + 0.125) / 2)
    assert c.at("sft", 0.7, "decline")[0] == pytest.approx((0.15 + 0.125) / 2)
    # at 0.9: b0 sft 0.25, grpo 0.05 -> 0.2; b1 sft 0.175, grpo 0 -> 0.175
    assert c.at("grpo", 0.9)[0] == pytest.approx((0.2 + 0.175) / 2)
    assert c.at("grpo", 0.9, "decline")[0] == pytest.approx(0.025)
    # below the base accuracy 0.2 no unit reaches: not shown
    assert c.at("grpo", 0.1) is None
    assert c.n_units["grpo"][int(round(0.5 / 0.01))] == 2


def test_curve_band_comes_from_the_bootstrap_and_covers_the_estimate():
    runs = [_run("sft", b, s, 10, 10 - (s + 1) * (1 + int(b[1])), label="s1") for b in ("b0", "b1") for s in range(3)]
    runs += [_run("grpo", b, s, 10, 10, label="g1") for b in ("b0", "b1") for s in range(3)]
    (c,) = curves(runs, n_boot=300)
    est, lo, hi = c.at("grpo", 1.0)
    # SFT declines: b0 0.1/0.2/0.3 (mean 0.2), b1 0.2/0.4/0.6 (mean 0.4); GRPO 0 -> difference 0.3
    assert est == pytest.approx(0.3) and 0.0 < lo < est < hi
    # without the example level every replicate mean lies between the smallest and largest unit
    (c,) = curves(runs, n_boot=300, levels=("bases", "seeds"))
    est, lo, hi = c.at("grpo", 1.0)
    assert 0.1 - 1e-9 <= lo < est < hi <= 0.6 + 1e-9


def test_predictor_statistics_on_hand_computed_ranks():
    from forgetbench.report.stats.fits import partial_spearman, ranks, spearman
    from forgetbench.report.stats.predictors import statistics_of

    assert list(ranks([3.0, 1.0, 3.0, 2.0])) == [3.5, 1.0, 3.5, 2.0]
    z = [1, 2, 3, 4]
    x, y = [2, 1, 4, 3], [2, 1, 3, 4]
    # ρ_xz = 3/5 = 0.6, ρ_yz = 4/5, ρ_xy = 4/5 (centred ranks): partial = (0.8 − 0.48)/√(0.64·0.36) = 2/3
    assert spearman(x, z) == pytest.approx(0.6) and spearman(y, z) == pytest.approx(0.8)
    assert partial_spearman(x, y, z) == pytest.approx(2 / 3)
    # an exact line: R² linear = quadratic = 1, ρ = 1; y a function of z only -> partial undefined (NaN)
    s = statistics_of(np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8]), np.array([1.0, 2, 3, 4]))
    assert s[:3] == pytest.approx([1.0, 1.0, 1.0]) and np.isnan(s[3])


def test_the_difference_averaged_over_its_range():
    # one unit: SFT (0.2, 0) -> (1.0, 0.4); GRPO (0.2, 0) -> (1.0, 0.0): difference 0.5·(a − 0.2) on
    # the grid 0.20 … 1.00, whose mean is 0.5·0.4 = 0.2
    runs = [_run("sft", "b0", 0, 10, 6), _run("grpo", "b0", 0, 10, 10)]
    (c,) = curves(runs, n_boot=0)
    assert c.mean_diff("grpo")[0] == pytest.approx(0.2)


def test_a_control_group_compares_with_the_family_of_the_reference_method():
    runs = [_run("sft", "b0", 0, 10, 6), _run("grpo", "b0", 0, 10, 10)]
    for r in runs:
        r.data["family"] = f"{r.method}_control"
    (c,) = curves(runs, n_boot=0)
    assert c.reference == "sft_control" and list(c.diff) == ["grpo_control"]
    assert c.mean_diff("grpo_control")[0] == pytest.approx(0.2)


def test_the_answer_line_names_the_side_the_interval_excludes():
    from forgetbench.report.sections.headline import curve_lines

    runs = [_run("sft", b, s, 10, 10 - (s + 1) * (1 + int(b[1])), label="s1") for b in ("b0", "b1") for s in range(3)]
    runs += [_run("grpo", b, s, 10, 10, label="g1") for b in ("b0", "b1") for s in range(3)]
    (line,) = curve_lines(curves(runs, n_boot=300))
    # SFT loses 0.1-0.6 of the old task, GRPO nothing: the averaged difference is > 0 with its interval
    assert line.startswith("- **grpo vs sft** (nt), at matched new-task accuracy: grpo forgets less.")
    assert "averaged over 0.20–1.00" in line and "at 0.95: +" in line
    flat = [_run("sft", "b0", s, 10, 10, label="s1") for s in range(3)] + \
        [_run("grpo", "b0", s, 10, 10, label="g1") for s in range(3)]
    assert "no difference resolved" in curve_lines(curves(flat, n_boot=50))[0]


def test_a_family_some_draws_miss_gives_nan_there_not_a_crash():
    # an unfinished grid: grpo only on (b0, seed 0); draws of b1 alone have no grpo unit
    runs = [_run("sft", b, s, 10, 8, label="s1") for b in ("b0", "b1") for s in range(2)]
    runs += [_run("grpo", "b0", 0, 10, 10, label="g1")]
    (c,) = curves(runs, n_boot=200)
    assert c.n_units["grpo"][-1] == 1
    assert c.at("grpo", 1.0) is None                  # not every base reaches it: not shown
    assert c.at("sft", 1.0, "decline")[0] == pytest.approx(0.2)
