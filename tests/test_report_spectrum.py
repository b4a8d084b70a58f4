"""The report's "on-policy effect with the objective held fixed" section: on − off decline at matched
new-task accuracy per pair, against hand-computed values."""
import json
import math
from pathlib import Path

import pytest

from forgetbench.report import write_report
from forgetbench.report.runs import Run
from forgetbench.report.sections.spectrum import spectrum_rows

T975_1 = 12.706204736  # t_{0.975, 1}


def run(method, label, seed, acc, decline):
    return {"experiment": "toy", "domain": "llm", "method": method, "family": method, "label": label, "seed": seed,
            "config": {"experiment": "toy", "tasks": ["a"], "max_stages": None}, "complete": True,
            "stages": ["base", "a"], "tasks": ["copy", "a"], "accuracy": [[1.0, 0.1], [1.0 - decline, acc]],
            "metrics": {"avg_accuracy": acc, "bwt": None, "fwt": None, "forgetting": 0.0,
                        "old_task_decline": [decline], "new_task_gain": [acc - 0.1]},
            "drift": [{"relative_l2": 0.1}], "kl": [{"new_task_forward_kl": 1.0, "old_task_forward_kl": 0.1}],
            "timing": [{"train": 1.0, "eval": 1.0, "measure": 1.0}]}


# (method, label, seed) -> (new-task accuracy, old-task decline)
POINTS = {
    ("kd", "lr1", 0): (0.4, 0.10), ("kd", "lr2", 0): (0.8, 0.30),
    ("kd", "lr1", 1): (0.4, 0.20), ("kd", "lr2", 1): (0.8, 0.40),
    ("opd", "lr1", 0): (0.5, 0.05), ("opd", "lr2", 0): (0.9, 0.15),
    ("opd", "lr1", 1): (0.5, 0.10), ("opd", "lr2", 1): (0.9, 0.20),
    ("dpo", "lr1", 0): (0.1, 0.0), ("online_dpo", "lr1", 0): (0.6, 0.0),
    ("grpo", "lr1", 0): (0.6, 0.0),  # no partner: not in the section
}


def runs():
    return [Run(Path(f"{m}/{lab}/seed{s}"), run(m, lab, s, *v)) for (m, lab, s), v in POINTS.items()]


def test_on_minus_off_at_matched_accuracy_by_hand():
    rows = {(r[2], r[3]): r for r in spectrum_rows(runs())}
    # overlap of the seed-mean ranges: kd [0.4, 0.8], opd [0.5, 0.9] -> targets 0.5, 0.65, 0.8
    assert [k[1] for k in rows if k[0] == "kd → opd"] == ["0.500", "0.650", "0.800"]
    # at 0.5: kd 0.15 / 0.25 (interpolated), opd 0.05 / 0.10 -> on − off = −0.10, −0.15
    half = T975_1 * (0.05 / math.sqrt(2)) / math.sqrt(2)
    r = rows[("kd → opd", "0.500")]
    assert r[1] == "distillation" and r[4] == "0.200 ± 0.635" and r[5] == "0.075 ± 0.318"
    assert r[6] == f"{-0.125:.3f} ± {half:.3f}"
    # at 0.8: kd 0.30 / 0.40, opd 0.125 / 0.175 -> −0.175, −0.225
    assert rows[("kd → opd", "0.800")][6] == f"{-0.200:.3f} ± {half:.3f}"
    # one point each, no common accuracy: said, not interpolated
    (dpo,) = [r for k, r in rows.items() if k[0] == "dpo → online_dpo"]
    assert dpo[1] == "preferences" and dpo[6] == "no common accuracy: dpo [0.10, 0.10], online_dpo [0.60, 0.60]"
    assert not any(k[0].startswith("sft") for k in rows)  # no sft / rft runs: no row


def test_a_member_whose_frontier_misses_the_accuracy_is_named():
    pts = {("dpo", "a", 0): (0.5, 0.3), ("dpo", "b", 0): (0.9, 0.1),  # (0.9, 0.1) dominates: frontier = x 0.9 only
           ("online_dpo", "a", 0): (0.6, 0.1), ("online_dpo", "b", 0): (0.8, 0.2)}
    rows = spectrum_rows([Run(Path(f"{m}/{lab}/seed{s}"), run(m, lab, s, *v)) for (m, lab, s), v in pts.items()])
    assert [r[3] for r in rows] == ["0.600", "0.700", "0.800"]
    assert rows[0][4] == "—" and rows[0][5] == "0.100"
    assert rows[0][6] == "— (dpo: the frontier does not reach this accuracy)"


def test_section_in_report(tmp_path):
    for (m, lab, s), v in POINTS.items():
        d = tmp_path / m / lab / f"seed{s}"
        d.mkdir(parents=True)
        (d / "results.json").write_text(json.dumps(run(m, lab, s, *v)))
    md = write_report(tmp_path).read_text()
    assert "### The on-policy effect with the objective held fixed" in md
    assert f"| a | distillation | kd → opd | 0.650 |" in md


@pytest.mark.parametrize("pair", [("sft", "rft"), ("dpo", "online_dpo")])
def test_every_pair_is_compared(pair):
    pts = [Run(Path(f"{m}/x/seed{s}"), run(m, "x", s, 0.5, d)) for m, d in zip(pair, (0.3, 0.1)) for s in (0, 1)]
    (row,) = spectrum_rows(pts)
    assert row[2] == f"{pair[0]} → {pair[1]}" and row[3] == "0.500" and row[6].startswith("-0.200")
