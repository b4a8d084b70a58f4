"""The conjecture verdict: paired t-intervals, the supported / refuted / inconclusive call and
matched-x interpolation on hand-made numbers; then the report's Conjecture section on hand-made
recommender results.json files (with and without a sweep)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from forgetbench.report import write_report  # noqa: E402
from forgetbench.report.stats.statistics import mean_ci  # noqa: E402
from forgetbench.report.stats.verdict import (  # noqa: E402
    INCONCLUSIVE, REFUTED, SUPPORTED, classify, compare, curve, frontier, matched_values, mean_of,
    overlap_target, paired_differences, value_at, verdict,
)

T4 = 2.7764451052   # t_{0.975, 4}
T1 = 12.706204736   # t_{0.975, 1}


def test_paired_t_interval_and_calls():
    # differences 1..5: mean 3, sd sqrt(2.5), half = t4 * sqrt(2.5) / sqrt(5) = 1.96324
    v = verdict({s: float(s + 1) for s in range(5)}, +1)
    assert v.stats.mean == pytest.approx(3.0)
    assert v.stats.half == pytest.approx(T4 * math.sqrt(2.5) / math.sqrt(5))
    assert (v.low, v.high) == (pytest.approx(1.036755, abs=1e-5), pytest.approx(4.963245, abs=1e-5))
    assert v.call == SUPPORTED and v.seeds == (0, 1, 2, 3, 4)
    assert verdict({s: float(s + 1) for s in range(5)}, -1).call == REFUTED
    # all negative, predicted negative -> supported; predicted positive -> refuted
    neg = {0: -0.2, 1: -0.1, 2: -0.15}
    assert verdict(neg, -1).call == SUPPORTED and verdict(neg, +1).call == REFUTED
    # the interval contains 0 -> inconclusive either way
    mixed = {0: -1.0, 1: 1.0, 2: 0.5}
    assert verdict(mixed, +1).call == INCONCLUSIVE and verdict(mixed, -1).call == INCONCLUSIVE
    # one seed: no interval, inconclusive even with a large difference
    one = verdict({0: 5.0}, +1)
    assert one.stats.half is None and one.call == INCONCLUSIVE
    # a tiny but consistent effect is supported: mean 0.011, half = t2 * 0.001 / sqrt(3) = 0.00248
    tiny = verdict({0: 0.010, 1: 0.011, 2: 0.012}, +1)
    assert tiny.low > 0 and tiny.call == SUPPORTED
    with pytest.raises(ValueError):
        classify(mean_ci([1.0, 2.0]), 0)


def test_pairing_is_by_seed():
    a = {0: 1.0, 1: 2.0, 2: 3.0, 4: None}
    b = {0: 0.5, 2: 1.0, 3: 9.0, 4: 1.0}
    assert paired_differences(a, b) == {0: 0.5, 2: 2.0}
    v = compare(a, b, +1)
    # differences 0.5, 2.0: mean 1.25, sd 1.06066, half = t1 * 1.06066 / sqrt(2) = 9.5297
    assert v.stats.n == 2 and v.stats.mean == pytest.approx(1.25)
    assert v.stats.half == pytest.approx(T1 * 1.0606601718 / math.sqrt(2))
    assert v.call == INCONCLUSIVE
    # the off-policy side: per seed the mean over the learners that have the seed
    assert mean_of([{0: 1.0, 1: 3.0}, {0: 2.0, 2: 4.0}]) == {0: 1.5, 1: 3.0, 2: 4.0}


def test_interpolation_at_matched_x():
    pts = [(0.5, 1.0), (0.7, 2.0), (0.6, 3.0), (0.6, 1.0), (float("nan"), 9.0)]
    assert curve(pts) == [(0.5, 1.0), (0.6, 2.0), (0.7, 2.0)]       # duplicate x averaged
    assert value_at(pts, 0.55) == pytest.approx(1.5)
    assert value_at(pts, 0.65) == pytest.approx(2.0)
    assert value_at(pts, 0.5) == pytest.approx(1.0)
    assert value_at(pts, 0.8) is None and value_at(pts, 0.4) is None
    assert value_at([(0.3, 7.0)], 0.3) == 7.0 and value_at([(0.3, 7.0)], 0.31) is None
    assert overlap_target([[(0.5, 0), (0.8, 0)], [(0.6, 0), (0.9, 0)]]) == pytest.approx(0.7)
    assert overlap_target([[(0.5, 0), (0.6, 0)], [(0.7, 0), (0.9, 0)]]) is None
    assert overlap_target([[(0.5, 0), (0.6, 0)], []]) is None


def test_matched_values_per_seed():
    groups = {
        # seed 0: ranges [0.6, 0.8] and [0.4, 0.7] -> target 0.65
        # seed 1: ranges [0.6, 0.8] and [0.1, 0.2] -> no overlap, left out
        "x": {0: [(0.6, 0.2), (0.8, 0.4)], 1: [(0.6, 0.0), (0.8, 1.0)]},
        "y": {0: [(0.4, 0.0), (0.7, 0.3)], 1: [(0.1, 0.0), (0.2, 1.0)], 2: [(0.5, 1.0)]},
    }
    values, targets = matched_values(groups)
    assert targets == {0: pytest.approx(0.65)}
    assert values["x"] == {0: pytest.approx(0.25)} and values["y"] == {0: pytest.approx(0.25)}


def test_frontier_does_not_mix_a_folded_sweep():
    # a learning-rate sweep whose last point collapses: CTR falls back to 0.5 with a high decline
    pts = [(0.3, 0.0), (0.6, 0.1), (0.8, 0.3), (0.5, 0.5)]
    assert value_at(pts, 0.55) == pytest.approx(0.3)                  # plain: mixes the branches
    assert frontier(pts, higher_is_better=False) == [(0.3, 0.0), (0.6, 0.1), (0.8, 0.3)]
    groups = {"l": {0: pts}, "m": {0: [(0.5, 1.0), (0.6, 1.2)]}}
    values, targets = matched_values(groups, higher_is_better=False)
    assert targets == {0: pytest.approx(0.55)}
    assert values["l"][0] == pytest.approx(0.1 * 0.25 / 0.3)          # 0.08333 on the frontier
    # higher is better (e.g. coverage): (0.5, 0.5) now dominates the low-x points below 0.5
    assert frontier(pts, higher_is_better=True) == [(0.5, 0.5), (0.8, 0.3)]


# ----------------------------------------------------------------------------- the report section
STAGES = ["cohort_a", "cohort_b"]


def _run(root: Path, method: str, seed: int, *, new_acc: float, decline: float, defects: dict,
         label: str = "") -> None:
    res = {
        "experiment": "rec", "domain": "recsys", "method": method, "seed": seed, "complete": True,
        "config": {"experiment": "rec", "tasks": STAGES, "recsys": {"stages": STAGES}},
        "stages": ["base", *STAGES], "tasks": STAGES,
        "accuracy": [[0.5, 0.4], [0.9, 0.45], [0.9 - decline, new_acc]],
        "metrics": {"old_task_decline": [None, decline], "new_task_gain": [0.4, new_acc - 0.4]},
        "drift": [{"relative_l2": 0.1}, {"relative_l2": 0.2}],
        "kl": [{"new_task_forward_kl": 1.0, "old_task_forward_kl": None},
               {"new_task_forward_kl": 2.0, "old_task_forward_kl": 1.0}],
        "defects": [dict(defects), dict(defects)],
        "timing": [{"train": 1.0}, {"train": 1.0}],
    }
    if label:
        res.update(family=method, label=label)
    d = root / method / label / f"seed{seed}" if label else root / method / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(res))


def _rows(md: str) -> list[list[str]]:
    sec = md.split("### Conjecture")[1].split("Learners as compared")[0]
    rows, tag = [], ""
    for line in sec.splitlines():
        if line.startswith("| ") and not line.startswith("| | prediction"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            tag = cells[0] or tag
            rows.append([tag] + cells[1:])
    return rows


def test_conjecture_section_without_sweep(tmp_path):
    for s in range(5):
        # decline: off = mean(0.30 + .01 s, 0.50 + .01 s) = 0.40 + .01 s; onpolicy 0.10 + .02 s
        # -> differences 0.30 - .01 s = 0.30 .. 0.26: mean 0.28, sd 0.0158114, half 0.019632
        # popularity_lift: off 0.1, onpolicy 0.2 + 0.01 (s % 2) -> always below: refuted
        # coverage: off 0.5, onpolicy 0.5 - (0.1, -0.1, 0.05, -0.05, 0)[s] -> contains 0
        # exposure_gini: onpolicy 0.9, off 0.6 -> onpolicy - off = 0.3 every seed (sd 0): supported
        cov = 0.5 - (0.1, -0.1, 0.05, -0.05, 0.0)[s]
        _run(tmp_path, "ctr", s, new_acc=0.9, decline=0.30 + 0.01 * s,
             defects={"popularity_lift": 0.1, "coverage": 0.5, "exposure_gini": 0.6, "entropy": 2.0})
        _run(tmp_path, "next_item", s, new_acc=0.9, decline=0.50 + 0.01 * s,
             defects={"popularity_lift": 0.1, "coverage": 0.5, "exposure_gini": 0.6, "entropy": 2.0})
        _run(tmp_path, "onpolicy", s, new_acc=0.7, decline=0.10 + 0.02 * s,
             defects={"popularity_lift": 0.2 + 0.01 * (s % 2), "coverage": cov,
                      "exposure_gini": 0.9, "entropy": 1.0})
    md = write_report(tmp_path).read_text()
    assert "### Conjecture: off-policy supervised vs on-policy recommenders" in md
    rows = {r[0]: r for r in _rows(md)}
    a = rows["a"]
    assert a[3] == "off-policy (mean of ctr, next_item) − onpolicy" and a[4] == "> 0"
    assert a[5] == "best-CTR point" and a[6] == "0.2800 [0.2604, 0.2996]" and a[7] == "5"
    assert a[8] == "**supported**"
    assert rows["b"][8] == "**refuted**" and rows["b"][6].startswith("-0.1040 [")
    assert rows["c"][8] == "**inconclusive**" and abs(float(rows["c"][6].split(" [")[0])) < 1e-9
    assert rows["e"][6] == "0.3000 [0.3000, 0.3000]" and rows["e"][8] == "**supported**"
    # ips has no runs: its comparisons say so and stay inconclusive
    assert rows["d"][6] == "a learner of this comparison has no runs" and rows["d"][8] == "inconclusive"
    assert "No sweep in these runs" in md and "matched" not in "".join(r[5] for r in _rows(md))
    assert "*Only" not in md                                              # 5 seeds: no warning


def test_conjecture_section_with_sweep_matches_ctr(tmp_path):
    # two sweep points per learner and seed; per seed the new-segment accuracy ranges are
    # ctr [0.6, 0.8], next_item [0.5, 0.9], onpolicy [0.4, 0.7]. Pair ctr/onpolicy: target 0.65,
    # ctr 0.25 (+0.01 s) - onpolicy 0.1 * 0.25/0.3 = 0.166667 (+0.01 s); pair next_item/onpolicy:
    # target 0.6, next_item 0.1 + 0.4 * 0.1/0.4 = 0.2 - onpolicy 0.1 * 0.2/0.3 = 0.133333.
    # Seed differences (mean of the pairs) 0.15, 0.155: mean 0.1525, half = t1 * 0.0035355 / sqrt(2)
    # = 0.031766 -> [0.1207, 0.1843]
    pts = {"ctr": [(0.6, 0.2), (0.8, 0.4)], "next_item": [(0.5, 0.1), (0.9, 0.5)],
           "onpolicy": [(0.4, 0.0), (0.7, 0.1)]}
    for s in range(2):
        for method, pp in pts.items():
            for i, (acc, dec) in enumerate(pp):
                _run(tmp_path, method, s, new_acc=acc, decline=dec + (0.01 * s if method == "ctr" else 0),
                     defects={"popularity_lift": 0.1, "coverage": 0.5, "exposure_gini": 0.5,
                              "entropy": 1.0 + i}, label=f"lr={i}")
    md = write_report(tmp_path).read_text()
    rows = [r for r in _rows(md) if r[0] == "a"]
    assert [r[5] for r in rows] == ["best-CTR point", "matched new-segment CTR/oracle ≈ 0.600–0.650"]
    assert rows[1][6] == "0.1525 [0.1207, 0.1843]" and rows[1][7] == "2" and rows[1][8] == "**supported**"
    # best-CTR points: ctr lr=1 (0.4, 0.41), next_item lr=1 (0.5), onpolicy lr=1 (0.1)
    # -> differences 0.35, 0.355: mean 0.3525
    assert rows[0][6].startswith("0.3525 [")
    # exposure-side predictions get a matched-entropy row too (entropy ranges [1, 2] everywhere)
    e = [r for r in _rows(md) if r[0] == "e"]
    assert [r[5] for r in e][2] == "matched policy entropy ≈ 1.500"
    assert "*Only 2 seed(s) per learner point" in md
    assert "`ctr/lr=1` (best CTR)" in md


def test_run_directories_gathered_under_one_output_dir_are_points(tmp_path):
    """Without sweep labels, each directory holding seed<k>/ is one point of its learner."""
    for d, (acc_off, acc_on) in {"lr_low": (0.6, 0.5), "lr_high": (0.9, 0.7)}.items():
        for s in range(2):
            for method, acc in (("ctr", acc_off), ("next_item", acc_off), ("onpolicy", acc_on)):
                _run(tmp_path / d, method, s, new_acc=acc, decline=acc / 2,
                     defects={"popularity_lift": 0.1, "coverage": 0.5, "exposure_gini": 0.5,
                              "entropy": 1.0})
    md = write_report(tmp_path).read_text()
    assert "`lr_high/ctr` (best CTR)" in md and "`lr_low/ctr`" in md
    # off-policy range [0.6, 0.9], onpolicy [0.5, 0.7] -> 0.65: off 0.325 - onpolicy 0.325 = 0
    a = [r for r in _rows(md) if r[0] == "a"]
    assert a[1][5] == "matched new-segment CTR/oracle ≈ 0.650"
    assert a[1][6] == "0.0000 [0.0000, 0.0000]" and a[1][8] == "**inconclusive**"
    # best-CTR points: off 0.45 - onpolicy 0.35 = 0.1 in both seeds
    assert a[0][6] == "0.1000 [0.1000, 0.1000]" and a[0][8] == "**supported**"
