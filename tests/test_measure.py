"""``forgetbench measure`` gives a run's stage row for the run's base and stage checkpoint;
``forgetbench.load_model`` loads the embedded bases and LoRA adapters; ``import forgetbench`` stays light."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from forgetbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMOKE = str(ROOT / "configs" / "smoke.yaml")


@pytest.fixture(scope="module")
def one_stage(tmp_path_factory):
    """The smoke config's sft, one stage (sum_to; prior skills copy, add), its checkpoint kept."""
    from forgetbench.run import main as run_main

    out = tmp_path_factory.mktemp("run")
    assert run_main(["--config", SMOKE, "--methods", "sft", "--max_stages", "1", "--keep_checkpoints",
                     "--output_dir", str(out), "--overlap_measurement", "false"]) == 0
    return json.loads((out / "sft" / "seed0" / "results.json").read_text()), out / "sft" / "seed0" / "checkpoints" / "stage1"


def test_measure_equals_the_runs_stage_row(one_stage, tmp_path, capsys):
    r, ckpt = one_stage
    out = tmp_path / "m.json"
    assert main(["measure", "--base", "embedded:tiny", "--model", str(ckpt), "--config", SMOKE, "--new_task", "sum_to",
                 "--tasks", "sum_to", "copy", "add", "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    for t in ("sum_to", "copy", "add"):
        j = r["tasks"].index(t)
        assert (m["accuracy"]["base"][t], m["accuracy"]["model"][t]) == (r["accuracy"][0][j], r["accuracy"][1][j])
        assert m["per_example"]["model"][t] == r["per_example"][1][t]
        assert m["per_example"]["base"][t] == r["per_example"][0][t]
    assert m["old_tasks"] == ["copy", "add"]
    assert m["old_task_decline"] == r["metrics"]["old_task_decline"][0]
    assert m["new_task_gain"] == r["metrics"]["new_task_gain"][0]
    assert m["example_events"] == {k: v[0] for k, v in r["example_events"].items()}
    assert m["drift"] == r["drift"][0]
    kl = r["kl"][0]
    assert m["kl"]["old_task_forward_kl_per_task"] == kl["old_task_forward_kl_per_task"]
    for key in ("new_task_forward_kl", "new_task_forward_kl_stderr", "old_task_forward_kl", "new_task_reverse_kl"):
        # reverse KL samples from the trained model: in memory vs reloaded, equal to rounding
        assert m["kl"][key] == pytest.approx(kl[key], rel=1e-5), key
    table = capsys.readouterr().out
    assert "sum_to" in table and "(new task)" in table and "forgetting events" in table


def test_measure_without_a_new_task_counts_every_task_as_old(one_stage, tmp_path):
    """decline = mean over the tasks of base - model; forgetting events = examples right on base and wrong after."""
    r, ckpt = one_stage
    out = tmp_path / "m.json"
    assert main(["measure", "--base", "embedded:tiny", "--model", str(ckpt), "--tasks", "copy", "add",
                 "--kl_prompts", "8", "--kl_samples", "1", "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    acc = lambda row, t: r["accuracy"][row][r["tasks"].index(t)]  # noqa: E731
    assert m["old_task_decline"] == pytest.approx(((acc(0, "copy") - acc(1, "copy")) + (acc(0, "add") - acc(1, "add"))) / 2)
    flips = sum(a == "1" and b == "0" for t in ("copy", "add") for a, b in zip(r["per_example"][0][t], r["per_example"][1][t]))
    assert m["example_events"]["forgetting_events"] == flips and m["example_events"]["old_examples"] == 400
    assert m["kl"]["old_task_forward_kl"] == pytest.approx(r["kl"][0]["old_task_forward_kl"], rel=1e-9)  # smoke: 8 x 1
    assert m["kl"]["new_task_forward_kl"] is None and m["new_task_gain"] is None


def test_measure_bad_input_exits_2_naming_it(capsys):
    assert main(["measure", "--base", "embedded:tiny", "--model", "embedded:tiny", "--tasks", "copyy"]) == 2
    assert "unknown task 'copyy'; did you mean copy" in capsys.readouterr().err
    assert main(["measure", "--base", "embedded:tiny", "--model", "./no/such/dir"]) == 2
    assert "'./no/such/dir' does not exist" in capsys.readouterr().err


def test_load_model_embedded_and_a_lora_adapter(tmp_path):
    peft = pytest.importorskip("peft")
    from forgetbench import load_model

    model, tok = load_model("embedded:tiny")
    assert tok.padding_side == "left" and tok.pad_token is not None
    assert sum(p.numel() for p in model.parameters()) == 865792
    lora = peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    loaded, _ = load_model(str(tmp_path / "adapter"))
    assert isinstance(loaded, peft.PeftModel)
    b = dict(lora.named_parameters())
    assert all((p == b[n]).all() for n, p in loaded.named_parameters() if "lora_" in n)


def test_import_forgetbench_stays_light_and_exports_lazily():
    code = ("import sys, forgetbench; assert 'torch' not in sys.modules; "
            "assert callable(forgetbench.load_model) and forgetbench.ForgettingCallback.__name__ == 'ForgettingCallback'")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
