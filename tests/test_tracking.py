"""W&B tracking, offline: two runs (sft, grpo) log through the trainer callback across two trainer
segments, log two stages, finish; then the offline .wandb transaction logs are read back."""
from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from forgetbench.launch import tracking  # noqa: E402
from forgetbench.report import plot_heatmap  # noqa: E402
from forgetbench.launch.tracking import Tracker, flatten_numbers, run_id  # noqa: E402

RESULTS = {
    "experiment": "toy", "domain": "llm", "seed": 0,
    "stages": ["base", "a", "b"], "tasks": ["copy", "a", "b"],
    "accuracy": [[1.0, 0.2, 0.1], [0.9, 0.8, 0.2], [0.7, 0.6, None]],
    "metrics": {"avg_accuracy": 0.6, "bwt": -0.2, "fwt": 0.1, "forgetting": None,
                "old_task_decline": [0.1, 0.25], "new_task_gain": [0.6, None]},
    "drift": [{"relative_l2": 0.01, "angular_deg": 1.0, "per_layer": {"q": 0.1}},
              {"relative_l2": 0.02, "angular_deg": 2.5, "l2": 3.0, "per_layer": {"q": 0.2}}],
    "kl": [{"new_task_forward_kl": 4.0, "old_task_forward_kl": 0.5},
           {"new_task_forward_kl": 6.0, "old_task_forward_kl": 0.75}],
}


# --- a reader for the offline transaction log (run-<id>.wandb) -------------------------------------
# wandb 0.31 ships no Python reader (the old wandb.sdk.internal.datastore is gone; `wandb leet` is
# the Go core). The format is LevelDB's log: a 7-byte file header (":W&B", magic 0xBEE1, version),
# then 32 KiB blocks of records, each with a 7-byte header (crc32, little-endian length, type:
# 1 full, 2 first, 3 middle, 4 last); payloads are wandb.proto Record messages.
def read_records(path: Path):
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    if len(data) < 7:                                     # header not written yet
        return
    assert data[:4] == b":W&B", "not a W&B transaction log"
    pos, block, buf = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:                       # block trailer padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if pos + 7 + length > len(data):                  # a record still being written
            return
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind == 0:
            continue
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            yield rec


def _key(item) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def read_run(run_dir: Path, timeout: float = 60.0) -> dict:
    """{'run': RunRecord, 'history': [dict], 'summary': dict, 'metrics': [MetricRecord]}.

    ``run.finish()`` can return before wandb-core has written the whole log to disk, so this waits
    until the log ends with its ``exit`` record."""
    deadline = time.monotonic() + timeout
    while True:
        paths = list(run_dir.glob("run-*.wandb"))
        assert len(paths) <= 1, paths
        got = _read_run(paths[0]) if paths else {"kinds": []}
        if got["kinds"][-1:] == ["exit"] or time.monotonic() > deadline:
            assert paths, f"no run-*.wandb in {run_dir}"
            return got
        time.sleep(0.1)


def _read_run(path: Path) -> dict:
    out = {"run": None, "history": [], "summary": {}, "metrics": [], "kinds": []}
    for rec in read_records(path):
        kind = rec.WhichOneof("record_type")
        out["kinds"].append(kind)
        if kind == "run":
            out["run"] = rec.run
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            for i in rec.summary.update:
                out["summary"][_key(i)] = json.loads(i.value_json)
            for i in rec.summary.remove:
                out["summary"].pop(_key(i), None)
        elif kind == "metric":
            out["metrics"].append(rec.metric)
    return out


# --- tests -----------------------------------------------------------------------------------------
@pytest.fixture()
def offline_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        d = tmp_path / var.lower()
        d.mkdir()
        monkeypatch.setenv(var, str(d))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return tmp_path


def _fake_trainer(cb, steps_and_logs, begin: bool):
    """Drive the callback like a fresh HF Trainer: global_step restarts at 0."""
    state = SimpleNamespace(global_step=0)
    if begin:
        cb.on_train_begin(None, state, None)
    for step, logs in steps_and_logs:
        state.global_step = step
        cb.on_log(None, state, None, logs=logs)


def test_two_offline_runs_round_trip(offline_env):
    out = offline_env / "results"
    heat = plot_heatmap(RESULTS, offline_env / "heat.png")
    config = {"experiment": "toy", "tasks": ["a", "b"], "wandb_project": "fb-test"}
    trackers = {m: Tracker(config, experiment="toy", method=m, seed=0, domain="llm",
                           model="embedded:tiny", output_dir=out / m / "seed0", enabled=True)
                for m in ("sft", "grpo")}
    for i, (method, tr) in enumerate(trackers.items()):
        cb = tr.callback()
        # segment 1 (stage 1's trainer): steps 1, 2, plus the end-of-training log at step 2
        _fake_trainer(cb, [(1, {"loss": 1.0 + i, "learning_rate": 1e-3}), (2, {"loss": 0.8}),
                           (2, {"train_runtime": 3.0, "eval_acc": 0.5})], begin=True)
        # segment 2 (a new trainer): global_step restarts; sft's skips on_train_begin
        _fake_trainer(cb, [(1, {"loss": 0.5, "note": "text"}), (2, {"loss": 0.4 + i})],
                      begin=(method == "grpo"))
        tr.log_stage(0, "base", {"accuracy": {"a": 0.2}})
        tr.log_stage(1, "a", {"new_task_accuracy": 0.8, "old_task_decline": 0.1, "name": "a",
                              "missing": None, "drift": RESULTS["drift"][0], "kl": RESULTS["kl"][0]})
        assert tr.train_step == 4
    for tr in trackers.values():
        tr.finish(RESULTS, heat)
        tr.finish(RESULTS, heat)                       # second call is a no-op

    for i, method in enumerate(("sft", "grpo")):
        run_dirs = list((out / method / "seed0" / "wandb").glob("offline-run-*"))
        assert len(run_dirs) == 1, run_dirs
        assert list(run_dirs[0].glob("run-*.wandb"))
        got = read_run(run_dirs[0])
        run = got["run"]
        assert run is not None, (got["kinds"], run_dirs[0].stat())
        assert run.run_id == run_id("toy", method, 0)
        assert (run.run_group, run.job_type, run.display_name, run.project) == \
            ("toy", method, f"{method}-seed0", "fb-test")
        assert list(run.tags) == ["llm", method, "embedded:tiny"]

        # train/step: continuous over both trainers, never going back
        train = [h for h in got["history"] if "train/step" in h]
        steps = [h["train/step"] for h in train]
        assert steps == [1, 2, 2, 3, 4]
        assert [h.get("train/loss") for h in train] == [1.0 + i, 0.8, None, 0.5, 0.4 + i]
        assert train[2]["train/train_runtime"] == 3.0 and train[2]["eval/acc"] == 0.5
        assert not any("train/note" in h for h in train)

        # stages on their own axis, nested dicts flattened, non-numbers skipped
        stages = [h for h in got["history"] if "cl/stage" in h]
        assert [h["cl/stage"] for h in stages] == [0, 1]
        assert stages[0]["cl/accuracy/a"] == 0.2
        s1 = stages[1]
        assert s1["cl/new_task_accuracy"] == 0.8 and s1["cl/drift/relative_l2"] == 0.01
        assert s1["cl/drift/per_layer/q"] == 0.1 and s1["cl/kl/new_task_forward_kl"] == 4.0
        assert "cl/name" not in s1 and "cl/missing" not in s1

        axes = {(m.glob_name or m.name): m.step_metric for m in got["metrics"]}
        assert axes["train/*"] == "train/step" and axes["cl/*"] == "cl/stage"

        summary = got["summary"]
        expected = {"ACC": 0.6, "BWT": -0.2, "FWT": 0.1, "final/old_task_decline": 0.25,
                    "final/drift/relative_l2": 0.02, "final/drift/angular_deg": 2.5,
                    "final/drift/l2": 3.0, "final/kl/new_task_forward_kl": 6.0,
                    "final/kl/old_task_forward_kl": 0.75, "stages_trained": 2}
        for k, v in expected.items():
            assert summary[k] == pytest.approx(v), k
        assert "forgetting" not in summary and "final/new_task_gain" not in summary   # nulls
        assert not any(k.startswith("final/drift/per_layer") for k in summary)
        assert summary["results/accuracy_matrix/_type"] == "table-file"
        assert summary["results/accuracy_heatmap/_type"] == "image-file"

        (table_file,) = run_dirs[0].glob("files/media/table/results/accuracy_matrix*.table.json")
        table = json.loads(table_file.read_text())
        assert table["columns"] == ["stage", "copy", "a", "b"]
        assert table["data"] == [["base", 1.0, 0.2, 0.1], ["a", 0.9, 0.8, 0.2], ["b", 0.7, 0.6, None]]
        assert list(run_dirs[0].glob("files/media/images/results/accuracy_heatmap*.png"))


def test_disabled_tracker_is_a_no_op(offline_env):
    out = offline_env / "off"
    tr = Tracker({}, experiment="e", method="sft", seed=0, domain="llm", model="m",
                 output_dir=out, enabled=False)
    cb = tr.callback()
    _fake_trainer(cb, [(1, {"loss": 1.0})], begin=True)
    tr.log_train({"loss": 1.0})
    tr.log_stage(1, "a", {"x": 1.0})
    tr.finish(RESULTS, None)
    assert tr.run is None and not out.exists()


def test_run_id_is_stable_and_distinct():
    a = run_id("toy", "sft", 0)
    assert a == run_id("toy", "sft", 0) and a.startswith("toy-sft-s0-")
    assert len({a, run_id("toy", "sft", 1), run_id("toy", "grpo", 0), run_id("toy", "sft", 0, "lr1"),
                run_id("toy2", "sft", 0)}) == 5


def test_tags_fit_wandb_limits():
    long = "/models/" + "x" * 80 + "/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert tracking._tags("llm", "sft", long) == ["llm", "sft", "SmolLM2-135M-Instruct.Q4_1.gguf"]
    assert tracking._tags("llm", "", "llm") == ["llm"]


def test_flatten_numbers_skips_non_numbers():
    import numpy as np
    import torch

    d = {"a": 1, "b": {"c": 2.5, "d": "x", "e": None, "f": {"g": np.float32(0.5)}},
         "t": torch.tensor(3.0), "v": torch.ones(2), "ok": True, "l": [1, 2]}
    assert flatten_numbers(d) == {"a": 1, "b/c": 2.5, "b/f/g": 0.5, "t": 3.0}


def test_offline_fallback_without_credentials(monkeypatch, tmp_path, capsys):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(tracking, "_NOTICE_SHOWN", False)
    assert tracking._choose_mode() == "offline"
    assert tracking._choose_mode() == "offline"
    err = capsys.readouterr().err
    assert err.count("logging offline") == 1                      # said once
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert tracking._choose_mode() is None                       # credentials: wandb decides
    monkeypatch.delenv("WANDB_API_KEY")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert tracking._choose_mode() is None


def test_callback_with_real_trainers(offline_env):
    """Two real HF Trainers (report_to="none") feed one run: train/step continues across them."""
    import torch
    from transformers import Trainer, TrainingArguments

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 1)

        def forward(self, x, labels):
            return {"loss": ((self.lin(x).squeeze(-1) - labels) ** 2).mean()}

    torch.manual_seed(0)
    rows = [{"x": torch.randn(2), "labels": torch.tensor(1.0)} for _ in range(16)]
    out = offline_env / "real"
    tr = Tracker({}, experiment="toy", method="sft", seed=1, domain="llm", model="tiny",
                 output_dir=out, enabled=True)
    model = Tiny()
    for seg in range(2):
        args = TrainingArguments(output_dir=str(offline_env / f"ckpt{seg}"), max_steps=4,
                                 logging_steps=2, per_device_train_batch_size=4, report_to="none",
                                 use_cpu=True, save_strategy="no", disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=rows, callbacks=[tr.callback()]).train()
    tr.finish(None)
    (run_dir,) = (out / "wandb").glob("offline-run-*")
    steps = [h["train/step"] for h in read_run(run_dir)["history"] if "train/loss" in h]
    assert steps == [2, 4, 6, 8]


def test_harness_run_writes_one_offline_wandb_run_per_method(offline_env, micro_base_path, tmp_path):
    """Through run_experiment: one W&B run per (method, seed), summary and stage axis filled."""
    from forgetbench.launch.experiment import run_experiment

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "out"
    assert run_experiment(["--config", str(root / "configs" / "smoke.yaml"), "--output_dir", str(out),
                           "--methods", "sft", "rft", "--max_stages", "1", "--max_steps", "1",
                           "--report_to", "wandb"]) == 0
    run_dirs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(run_dirs) == 2
    got = {r["run"].job_type: r for r in (read_run(d) for d in run_dirs)}
    assert set(got) == {"sft", "rft"}
    for method, g in got.items():
        res = json.loads((out / method / "seed0" / "results.json").read_text())
        assert g["run"].run_group == "smoke"
        assert g["summary"]["final/old_task_decline"] == pytest.approx(res["metrics"]["old_task_decline"][-1])
        assert g["summary"]["final/kl/new_task_forward_kl"] == pytest.approx(res["kl"][-1]["new_task_forward_kl"])
        assert g["summary"]["results/accuracy_heatmap/_type"] == "image-file"
        assert [h["cl/stage"] for h in g["history"] if "cl/stage" in h] == [0, 1]
