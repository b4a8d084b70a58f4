"""End to end: ``python forgetbench/run.py --config configs/recsys_smoke.yaml`` writes results.json
files that keep the results contract (domain recsys, accuracy matrix, per-stage defects) and a
report.md with the Conjecture section."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFECTS = {"exposure_gini", "coverage", "intra_list_diversity", "popularity_lift", "calibration_kl",
           "homogenization", "longtail_retention", "entropy", "top_category_share",
           "excess_popularity_lift", "excess_coverage", "excess_exposure_gini"}


def test_recsys_smoke_config_end_to_end(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, MPLBACKEND="Agg", WANDB_MODE="disabled")
    proc = subprocess.run([sys.executable, "forgetbench/run.py", "--config", "configs/recsys_smoke.yaml",
                           "--output_dir", str(out)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(out.rglob("results.json"))
    # (3 learners x 2 learning rates x 2 budgets + 2 learners x 2 learning rates) x 2 seeds
    assert len(files) == 32
    stages = ["cohort_a", "cohort_b", "cohort_c"]
    for f in files:
        r = json.loads(f.read_text())
        assert r["domain"] == "recsys" and r["experiment"] == "recsys_smoke" and r["complete"] is True
        assert r["method"] in {"ctr", "next_item", "ips", "onpolicy", "onpolicy_pos"} and r["family"] == r["method"]
        assert r["train_stats"][-1]["interactions"] in (1024, 2048)
        assert r["stages"] == ["base", *stages] and r["tasks"] == stages
        acc = r["accuracy"]
        assert len(acc) == 4 and all(len(row) == 3 and all(0 <= v <= 1 for v in row) for row in acc)
        m = r["metrics"]
        assert len(m["old_task_decline"]) == 3 and len(m["new_task_gain"]) == 3
        assert all(isinstance(m[k], float) for k in ("avg_accuracy", "bwt", "fwt", "forgetting"))
        assert len(r["defects"]) == 3 and all(set(d) == DEFECTS for d in r["defects"])
        assert all(0 <= d["exposure_gini"] <= 1 and 0 < d["coverage"] <= 1 for d in r["defects"])
        assert len(r["kl"]) == 3 and r["kl"][0]["old_task_forward_kl"] is None
        assert all(k["new_task_forward_kl"] >= 0 for k in r["kl"])
        assert len(r["drift"]) == 3 and all("relative_l2" in d for d in r["drift"])
    md = (out / "report.md").read_text()
    assert "### Conjecture: off-policy supervised vs on-policy recommenders" in md
    sec = md.split("### Conjecture")[1].split("Learners as compared")[0]
    tags = [line.split("|")[1].strip() for line in sec.splitlines() if line.startswith("| ")
            and line.split("|")[1].strip()]
    assert tags == ["a", "b", "c", "d", "d′", "e"]
    calls = [c for c in ("supported", "refuted", "inconclusive") for _ in range(sec.count(f"**{c}**"))]
    assert len(calls) >= 6
    assert "matched new-segment CTR/oracle" in sec       # the smoke config has a sweep
    budget = md.split("### Sample efficiency and matched CTR in the high range")[1].split("###")[0]
    assert "| onpolicy_pos | 1,024 |" in budget and "| onpolicy_pos | 2,048 |" in budget
    assert (out / "plots" / "sample_efficiency.png").is_file()
