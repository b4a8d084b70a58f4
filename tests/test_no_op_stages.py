"""A stage with nothing to learn says so and records it (GRPO: zero reward spread; RFT: no correct sample)."""
import json
from pathlib import Path

from forgetbench.launch.experiment import run_experiment
from forgetbench.llm.rl_trainer import zero_spread_stats

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--max_stages", "1", "--tasks", "sum_to"]


def test_zero_spread_stats_from_a_crafted_log():
    log = [{"loss": 0.1, "frac_reward_zero_std": 0.5}, {"frac_reward_zero_std": 1.0}, {"train_loss": 0.0}]
    assert zero_spread_stats(log) == {"frac_reward_zero_std": 0.75, "frac_reward_zero_std_last": 1.0,
                                      "nothing_to_learn": False}
    assert zero_spread_stats([{"frac_reward_zero_std": 1.0}] * 3)["nothing_to_learn"] is True
    assert zero_spread_stats([])["frac_reward_zero_std"] is None


def _constant_reward_plugin(tmp_path) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "const.py").write_text(
        "from forgetbench import register_task\n"
        "from tasks.many_answers import SumTo\n\n"
        "@register_task\nclass ConstSum(SumTo):\n    name = 'const_sum'\n"
        "    def reward(self, completion, example):\n        return 0.0\n")
    return d


def test_grpo_stage_with_zero_spread_everywhere_is_announced_and_recorded(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_experiment(SMOKE + ["--tasks", "const_sum", "--include_path", str(_constant_reward_plugin(tmp_path)),
                                   "--methods", "grpo", "--output_dir", str(out)]) == 0
    stats = json.loads((out / "grpo" / "seed0" / "results.json").read_text())["train_stats"][0]
    assert stats["frac_reward_zero_std"] == 1.0 and stats["nothing_to_learn"] is True
    assert "had the same reward (zero spread): the stage had nothing to learn" in capsys.readouterr().out


def test_rft_stage_without_a_correct_sample_is_recorded(tmp_path, capsys, monkeypatch):
    import forgetbench.llm.own_samples as own_samples

    monkeypatch.setattr(own_samples, "own_correct_samples", lambda model, tok, task, rows, k, seed: [None] * len(rows))
    out = tmp_path / "out"
    assert run_experiment(SMOKE + ["--methods", "rft", "--output_dir", str(out), "--overlap_measurement", "false"]) == 0
    stats = json.loads((out / "rft" / "seed0" / "results.json").read_text())["train_stats"][0]
    assert stats["nothing_to_learn"] is True and stats["own_correct_frac"] == 0.0 and stats["sft_rows"] == 0
    assert "no correct own sample" in capsys.readouterr().out
