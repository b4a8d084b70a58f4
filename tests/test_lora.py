"""LoRA (``peft`` config): a stage trains only the adapter, the adapter is merged when the stage
ends, and drift is measured on the merged weights (results.json says ``drift_on: merged``)."""
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("peft", reason="peft is in the [test] extra: pip install -e '.[test]'")

from forgetbench.errors import ForgetbenchError  # noqa: E402
from forgetbench.launch.experiment import run_experiment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: The micro base: its small, known shapes (hidden 32, 2 layers) are asserted below.
MICRO = ["--model_name_or_path", "embedded:micro"]
LORA = "{r: 2, lora_alpha: 4, target_modules: [q_proj, v_proj], lora_dropout: 0.0}"


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lora")
    argv = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--output_dir", str(out), "--methods", "sft",
            "--max_stages", "1", "--peft", LORA, "--keep_checkpoints", *MICRO]
    assert run_experiment(argv) == 0
    return out, json.loads((out / "sft" / "seed0" / "results.json").read_text())


def test_results_say_drift_is_on_merged_weights(lora_run):
    out, r = lora_run
    assert r["drift_on"] == "merged" and r["peft"]["r"] == 2
    assert "Drift measured on: merged weights" in (out / "report.md").read_text()
    d = r["drift"][0]
    assert d["relative_l2"] > 0
    # micro base: hidden 32, 2 layers; q and v are 32x32: r * (32 + 32) per matrix, 4 matrices
    assert r["train_stats"][0]["trainable_params"] == 4 * 2 * (32 + 32)
    moved = {m for m, v in d["per_layer"].items() if v > 0}
    assert moved == {f"model.layers.{i}.self_attn.{p}" for i in (0, 1) for p in ("q_proj", "v_proj")}


def test_only_the_adapted_matrices_changed_and_with_rank_at_most_r(lora_run, micro_base_path):
    out, _ = lora_run
    base = load_file(str(Path(micro_base_path) / "model.safetensors"))
    merged = load_file(str(out / "sft" / "seed0" / "checkpoints" / "stage1" / "model.safetensors"))
    assert not any("lora" in k for k in merged)  # a plain, merged checkpoint
    for name, w0 in base.items():
        delta = merged[name] - w0
        if any(f"{p}.weight" in name for p in ("q_proj", "v_proj")):
            assert delta.abs().max() > 0 and torch.linalg.matrix_rank(delta).item() <= 2, name
        else:
            assert torch.equal(merged[name], w0), name


def test_full_fine_tuning_says_weights(tmp_path):
    from forgetbench.config.schema import load_config
    from forgetbench.llm.learner import run_header
    from forgetbench.llm.base_model.load import resolve_model_path

    cfg = load_config(["--config", str(ROOT / "configs" / "smoke.yaml")])
    head = run_header(cfg, resolve_model_path("embedded:micro"))
    assert head["drift_on"] == "weights" and head["peft"] is None and head["weight_dtype"] == "float32"


def test_a_bad_peft_section_is_named():
    from forgetbench.llm.lora import lora_config

    with pytest.raises(ForgetbenchError, match=r"config field 'peft'.*rank"):
        lora_config({"rank": 8})


@pytest.mark.parametrize("method", ["rloo", "dpo", "online_dpo", "kd", "opd", "sdft"])
def test_spectrum_methods_train_only_the_adapter(method, tmp_path, micro_base_path):
    """Each spectrum method under LoRA: only the adapter trains, the stage ends merged (only q/v moved;
    rloo on micro has zero reward spread, so nothing moves at all)."""
    argv = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--output_dir", str(tmp_path), "--methods", method,
            "--max_stages", "1", "--max_steps", "2", "--peft", LORA, "--keep_checkpoints", *MICRO]
    assert run_experiment(argv) == 0
    r = json.loads((tmp_path / method / "seed0" / "results.json").read_text())
    assert r["drift_on"] == "merged" and r["train_stats"][0]["trainable_params"] == 4 * 2 * (32 + 32)
    moved = {m for m, v in r["drift"][0]["per_layer"].items() if v > 0}
    qv = {f"model.layers.{i}.self_attn.{p}" for i in (0, 1) for p in ("q_proj", "v_proj")}
    assert moved == (set() if method == "rloo" else qv)
    merged = load_file(str(tmp_path / method / "seed0" / "checkpoints" / "stage1" / "model.safetensors"))
    assert not any("lora" in k for k in merged)
    if method in ("kd", "opd"):  # the expert teacher, trained through LoRA too, is a plain merged model
        teacher = load_file(str(tmp_path / method / "seed0" / "teachers" / "stage1" / "model.safetensors"))
        assert not any("lora" in k for k in teacher)
