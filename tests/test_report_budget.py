"""The recommender budget section: sample-efficiency rows, frontier values and budgets at a
matched CTR on hand-made points, and the section on hand-made results.json files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from forgetbench.report import write_report  # noqa: E402
from forgetbench.report.runs.readings import min_stage_new  # noqa: E402
from forgetbench.report.stats.budget import at_target  # noqa: E402
from forgetbench.report.runs import Run  # noqa: E402

STAGES = ["cohort_a", "cohort_b"]


def test_value_and_budget_at_a_matched_ctr_along_the_frontier():
    pts = [(0.8, 0.2, 1000), (0.9, 0.4, 4000), (0.85, 0.5, 2000), (0.7, 0.1, 500)]
    # lower is better: (0.85, 0.5) is dominated by (0.9, 0.4); frontier 0.7 -> 0.8 -> 0.9
    assert at_target(pts, 0.85, higher_is_better=False) == (pytest.approx(0.3), pytest.approx(2500))
    assert at_target(pts, 0.7, higher_is_better=False) == (pytest.approx(0.1), pytest.approx(500))
    assert at_target(pts, 0.95, higher_is_better=False) is None
    assert at_target(pts, 0.65, higher_is_better=False) is None
    # higher is better: (0.85, 0.5) dominates every point below it; frontier 0.85 -> 0.9
    assert at_target(pts, 0.875, higher_is_better=True) == (pytest.approx(0.45), pytest.approx(3000))
    assert at_target(pts, 0.75, higher_is_better=True) == (pytest.approx(0.5), pytest.approx(2000))
    assert at_target([(0.8, None, 10)], 0.8, False) is None


def _run(root: Path, method: str, label: str, seed: int, budget: int, acc_a: float, new: float,
         decline: float, cov: float = 0.5) -> None:
    res = {
        "experiment": "rec", "domain": "recsys", "method": method, "seed": seed, "complete": True,
        "family": method, "label": label,
        "config": {"experiment": "rec", "tasks": STAGES, "recsys": {"stages": STAGES}},
        "stages": ["base", *STAGES], "tasks": STAGES,
        "accuracy": [[0.5, 0.4], [acc_a, 0.45], [acc_a - decline, new]],
        "metrics": {"old_task_decline": [None, decline], "new_task_gain": [acc_a - 0.5, new - 0.4]},
        "drift": [{"relative_l2": 0.1}, {"relative_l2": 0.2}],
        "kl": [{"new_task_forward_kl": 1.0}, {"new_task_forward_kl": 2.0}],
        "defects": [{"coverage": cov, "popularity_lift": 0.1, "exposure_gini": 0.5, "entropy": 1.0}] * 2,
        "train_stats": [{"interactions": budget}, {"interactions": budget}],
        "timing": [{"train": 1.0}, {"train": 1.0}],
    }
    d = root / method / label / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(res))


def test_min_stage_new_is_the_lowest_new_segment_accuracy(tmp_path):
    _run(tmp_path, "ctr", "x", 0, 100, acc_a=0.7, new=0.9, decline=0.1)
    run = Run(tmp_path / "ctr" / "x" / "seed0" / "results.json",
              json.loads((tmp_path / "ctr" / "x" / "seed0" / "results.json").read_text()))
    assert min_stage_new(run) == pytest.approx(0.7)


def test_budget_section_on_hand_made_runs(tmp_path):
    # budgets 1000 and 2000; two learning rates each. Final new-segment CTR/oracle (seed s adds
    # 0.01 s to ctr/next_item's decline only):
    #   ctr, next_item: n=1000 lr=a 0.80 (decline 0.10), lr=b 0.84 (0.20); n=2000 lr=a 0.90 (0.30)
    #   onpolicy_pos:   n=1000 0.82 (0.05); n=2000 0.92 (0.15)         -> the strongest on-policy
    #   onpolicy:       n=1000 0.60 (0.01); n=2000 0.70 (0.02)
    for s in range(3):
        for m in ("ctr", "next_item"):
            _run(tmp_path, m, "lr=a,n=1000", s, 1000, 0.9, 0.80, 0.10 + 0.01 * s)
            _run(tmp_path, m, "lr=b,n=1000", s, 1000, 0.9, 0.84, 0.20 + 0.01 * s)
            _run(tmp_path, m, "lr=a,n=2000", s, 2000, 0.9, 0.90, 0.30 + 0.01 * s)
        _run(tmp_path, "onpolicy_pos", "n=1000", s, 1000, 0.85, 0.82, 0.05)
        _run(tmp_path, "onpolicy_pos", "n=2000", s, 2000, 0.85, 0.92, 0.15)
        _run(tmp_path, "onpolicy", "n=1000", s, 1000, 0.6, 0.60, 0.01)
        _run(tmp_path, "onpolicy", "n=2000", s, 2000, 0.6, 0.70, 0.02)
    md = write_report(tmp_path).read_text()
    sec = md.split("### Sample efficiency and matched CTR in the high range")[1]
    # the best lr at n=1000 is lr=b (0.84); the lowest stage of ctr is cohort_a's 0.90 > 0.84
    assert "| ctr | 1,000 | `ctr/lr=b,n=1000` | 0.840 ± 0.000 | 0.840 ± 0.000 |" in sec
    assert "| onpolicy_pos | 2,000 | `onpolicy_pos/n=2000` | 0.920 ± 0.000 | 0.850 ± 0.000 |" in sec
    assert "plots/sample_efficiency.png" in sec and (tmp_path / "plots" / "sample_efficiency.png").is_file()
    assert "minus `onpolicy_pos` (the strongest on-policy learner)" in sec
    # the Conjecture table compares onpolicy_pos too
    assert "off-policy (mean of ctr, next_item) − onpolicy_pos" in md
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in sec.splitlines()
            if line.startswith("| 0.")}
    # at 0.88: off frontier (lower decline) 0.80/0.10+.01s -> 0.84/0.20+.01s -> 0.90/0.30+.01s:
    #   0.20 + 0.01 s + (0.04/0.06) * 0.10 = 0.266667 + 0.01 s, budget 1000 + (2/3) 1000 = 1666.7
    #   onpolicy_pos: 0.82/0.05 -> 0.92/0.15: 0.11 at 0.88, budget 1600
    #   differences 0.156667 + 0.01 s: mean 0.166667, half = t2 * 0.01 / sqrt(3) = 0.024841
    r = rows[("0.88", "final_old_task_decline")]
    assert "0.277 ± 0.025 (1,667)" in r and "0.110 ± 0.000 (1,600)" in r
    assert "0.167 [0.142, 0.192]" in r and "**supported**" in r
    # 0.92: above the off-policy learners' highest CTR (0.90); 0.80: below onpolicy_pos's lowest (0.82)
    assert "outside a learner's CTR range" in rows[("0.92", "final_old_task_decline")]
    assert "outside a learner's CTR range" in rows[("0.80", "final_old_task_decline")]
    # coverage is 0.5 at every point: each frontier is its highest-CTR point, which answers for
    # every target inside the learner's range: 0.5 - 0.5 = 0, inconclusive
    assert "0.000 [0.000, 0.000]" in rows[("0.88", "coverage")] and "**inconclusive**" in rows[("0.88", "coverage")]
