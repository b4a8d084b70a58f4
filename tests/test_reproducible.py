"""The shipped tiny base gives everyone the same numbers: a short sequence's accuracy matrices equal
the committed ones (one torch thread, the pinned library versions; see README "Reproducibility").

Regenerate after a deliberate change of the world: FORGETBENCH_WRITE_EXPECTED=1 python -m pytest tests/test_reproducible.py
"""
import json
import os
from pathlib import Path

import pytest

from forgetbench.launch.experiment import run_experiment

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "expected" / "tiny_short_sequence.json"
ARGS = ["--tasks", "even_between", "rotate",
        "--methods", "sft", "grpo", "--max_steps", "6", "--prompts_per_step", "8",
        "--grpo.num_generations", "4", "--kl.n_prompts", "4", "--kl.n_samples", "1", "--threads", "1",
        "--overlap_measurement", "false", "--sft.learning_rate", "3e-4"]   # the settings the values were made with


def default_without_sweep(tmp_path: Path) -> list[str]:
    """``--config`` of the shipped default with its learning-rate sweep left out (one run per method)."""
    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    cfg.pop("sweep", None)
    path = tmp_path / "default_one_point.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return ["--config", str(path)]


def test_short_sequence_on_the_shipped_tiny_base_matches_committed_values(tmp_path):
    assert run_experiment(default_without_sweep(tmp_path) + ARGS + ["--output_dir", str(tmp_path / "out")]) == 0
    got = {}
    for method in ("sft", "grpo"):
        r = json.loads((tmp_path / "out" / method / "seed0" / "results.json").read_text())
        got[method] = {"tasks": r["tasks"], "accuracy": [[round(a, 3) for a in row] for row in r["accuracy"]]}
    if os.environ.get("FORGETBENCH_WRITE_EXPECTED") == "1":
        EXPECTED.write_text(json.dumps(got, indent=1) + "\n")
        pytest.skip(f"wrote {EXPECTED}")
    expected = json.loads(EXPECTED.read_text())
    for method in ("sft", "grpo"):
        assert got[method]["tasks"] == expected[method]["tasks"]
        assert got[method]["accuracy"] == expected[method]["accuracy"], method
    # the base row is the shipped base's own measured accuracy (base.json)
    base = json.loads((ROOT / "forgetbench" / "bases" / "tiny-r0" / "base.json").read_text())["accuracy"]
    row0 = dict(zip(got["sft"]["tasks"], got["sft"]["accuracy"][0]))
    assert all(abs(row0[t] - base[t]["greedy"]) < 1e-9 for t in row0)
