"""``launcher: ray`` with W&B: every task writes its own offline run, read back from its log."""
from __future__ import annotations

import json

import pytest
from test_ray_launcher import SWEEP
from test_tracking import offline_env, read_run  # noqa: F401  (offline_env: the fixture)


def test_each_ray_task_writes_its_own_offline_run(offline_env, tmp_path):
    """``launcher: ray``: every (sweep point, seed) task logs its own W&B run, as a serial sweep does."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
    from forgetbench.launch.experiment import run_experiment

    cfg = tmp_path / "sw.yaml"
    cfg.write_text(SWEEP)
    out = tmp_path / "out"
    ray.shutdown()                      # a fresh local instance: its workers get this test's W&B settings
    try:
        assert run_experiment(["--config", str(cfg), "--output_dir", str(out), "--launcher", "ray",
                               "--report_to", "wandb"]) == 0
    finally:
        ray.shutdown()
    got = {r["run"].display_name: r for r in (read_run(d) for d in sorted((out / "wandb").glob("offline-run-*")))}
    assert set(got) == {"sft-lr=0.001-seed0", "sft-lr=0.003-seed0"}
    for name, g in got.items():
        res = json.loads((out / "sft" / name[len("sft-"):-len("-seed0")] / "seed0" / "results.json").read_text())
        assert g["run"].run_group == "sw" and g["run"].job_type == "sft"
        assert g["summary"]["final/old_task_decline"] == pytest.approx(res["metrics"]["old_task_decline"][-1])
        assert [h["cl/stage"] for h in g["history"] if "cl/stage" in h] == [0, 1]
