"""A method plug-in: a user's file in ``--include_path`` registers a method (here SFT on the task's
targets under its own name and section) that runs end to end on the micro base."""
import json
import textwrap
from pathlib import Path

import pytest

from forgetbench.config.fingerprint import fingerprint
from forgetbench.config.schema import load_config
from forgetbench.errors import ForgetbenchError
from forgetbench.launch.experiment import run_experiment
from forgetbench.plugins import methods

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = textwrap.dedent('''
    from dataclasses import dataclass

    from forgetbench import MethodParams, register_method


    @dataclass
    class TargetSFTParams(MethodParams):
        learning_rate: float = 2e-3
        #: Every ``stride``-th training row only (a method of one's own needs a knob of its own).
        stride: int = 1

        def check(self, section, fail):
            if self.stride < 1:
                fail(f"{section}.stride must be >= 1, got {self.stride}")


    def train(stage):
        from forgetbench.llm.methods.sft import train_on_targets

        stage.rows = stage.rows.select(range(0, len(stage.rows), stage.params.stride))
        stage.stats["stride"] = stage.params.stride
        return train_on_targets(stage, 0.0)


    register_method("target_sft", TargetSFTParams, train, data_source="off_policy", objective="likelihood")
''')


@pytest.fixture
def plugin_dir(tmp_path):
    saved = dict(methods._REGISTRY)
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "target_sft.py").write_text(PLUGIN)
    yield d
    methods._REGISTRY.clear()
    methods._REGISTRY.update(saved)


def test_plugin_method_runs_end_to_end(plugin_dir, tmp_path):
    argv = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--include_path", str(plugin_dir), "--methods",
            "target_sft", "--tasks", "sum_to", "--max_steps", "2", "--target_sft.stride", "2",
            "--output_dir", str(tmp_path / "out"), "--model_name_or_path", "embedded:micro"]
    assert run_experiment(argv) == 0
    r = json.loads((tmp_path / "out" / "target_sft" / "seed0" / "results.json").read_text())
    assert r["method"] == "target_sft" and r["complete"] and r["stages"] == ["base", "sum_to"]
    assert r["config"]["target_sft"] == {"learning_rate": 2e-3, "trl_args": {}, "stride": 2}
    stats = r["train_stats"][0]
    assert stats["stride"] == 2 and stats["sft_rows"] == 8 and stats["final_loss"] > 0  # 16 rows, every 2nd
    assert methods.get_method("target_sft").objective == "likelihood"


def test_plugin_section_is_checked_and_leaves_other_runs_fingerprints(plugin_dir, tmp_path):
    smoke = ["--config", str(ROOT / "configs" / "smoke.yaml")]
    with pytest.raises(ForgetbenchError, match=r"config: target_sft.stride must be >= 1, got 0"):
        load_config(smoke + ["--include_path", str(plugin_dir), "--target_sft.stride", "0"])
    bad = tmp_path / "c.yaml"
    bad.write_text(f"include_path: [{plugin_dir}]\nmethods: [target_sft]\ntarget_sft:\n  strde: 3\n")
    with pytest.raises(ForgetbenchError, match=r"c\.yaml': line 4: unknown config field 'target_sft\.strde' "
                                               r"\(did you mean target_sft\.stride\?\)"):
        load_config(["--config", str(bad)])
    with_plugin = load_config(smoke + ["--include_path", str(plugin_dir)]).to_dict()
    assert "target_sft" in with_plugin
    without = {k: v for k, v in with_plugin.items() if k != "target_sft"}
    assert fingerprint(with_plugin) == fingerprint(without)  # at its defaults: sft runs stored before still resume
