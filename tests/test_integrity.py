"""Integrity of stored runs: task versions in the fingerprint, the model's name and weights digest,
and the migration of stored ``results.json`` files."""
import json
import shutil
from pathlib import Path

import pytest

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.base_model.files import weights_sha256
from forgetbench.loop.sequence import prepare_run_dir, run_fingerprint as fingerprint
from forgetbench.loop.store import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
BASES = ROOT / "forgetbench" / "bases"
CONFIG = {"experiment": "x", "model_name_or_path": "embedded:tiny", "tasks": ["sum_to"], "prior_tasks": ["copy"]}


def test_versions_at_1_leave_the_fingerprint_as_before_and_a_bump_changes_it():
    assert fingerprint(CONFIG, {"sum_to": 1, "copy": 1}) == fingerprint(CONFIG) == fingerprint(CONFIG, {})
    bumped = fingerprint(CONFIG, {"sum_to": 1, "copy": 2})
    assert bumped != fingerprint(CONFIG) and bumped == fingerprint(CONFIG, {"copy": 2})


def test_a_stored_run_of_another_task_version_is_refused_by_name(tmp_path):
    atomic_write_json(tmp_path / "results.json", {"fingerprint": fingerprint(CONFIG), "stages": ["base"]})
    assert prepare_run_dir(tmp_path, CONFIG, False, {"sum_to": 1, "copy": 1})["stages"] == ["base"]
    with pytest.raises(ForgetbenchError, match=r"other task versions \('copy' 1 -> 2\); use another output_dir"):
        prepare_run_dir(tmp_path, CONFIG, False, {"sum_to": 1, "copy": 2})
    with pytest.raises(ForgetbenchError, match="different config"):
        prepare_run_dir(tmp_path, {**CONFIG, "tasks": ["even_between"]}, False, {"copy": 2})


def test_weights_sha256_of_a_shipped_base_a_file_shards_and_a_hub_id(tmp_path):
    listed = json.loads((BASES / "micro" / "base.json").read_text())["sha256"]["model.safetensors"]
    assert weights_sha256(BASES / "micro") == listed
    copy = tmp_path / "m"
    shutil.copytree(BASES / "micro", copy)
    (copy / "base.json").unlink()                    # computed, not read from the manifest
    assert weights_sha256(copy) == listed == weights_sha256(copy / "model.safetensors")
    (copy / "b.safetensors").write_bytes(b"x")
    two = weights_sha256(copy)
    assert len(two) == 64 and two != listed
    assert weights_sha256("HuggingFaceTB/SmolLM2-135M") is None


def test_migration_changes_only_model_and_adds_the_digest_and_versions(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("migrate_results", ROOT / "scripts" / "migrate_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    main = module.main
    r = {"experiment": "x", "domain": "llm", "config": {**CONFIG, "model_name_or_path": "embedded:tiny-r1"},
         "fingerprint": "f", "model": "/elsewhere/forgetbench/bases/tiny-r1", "world_size": 1, "accuracy": [[0.5]]}
    rec = {"domain": "recsys", "config": CONFIG, "model": "recsys_sim", "x": float("nan")}
    atomic_write_json(tmp_path / "a" / "results.json", r)
    atomic_write_json(tmp_path / "b" / "results.json", rec)
    before = (tmp_path / "b" / "results.json").read_text()
    assert main([str(tmp_path)]) == 0
    new = json.loads((tmp_path / "a" / "results.json").read_text())
    digest = json.loads((BASES / "tiny-r1" / "base.json").read_text())["sha256"]["model.safetensors"]
    assert list(new) == ["experiment", "domain", "config", "fingerprint", "model", "model_sha256", "task_versions",
                         "world_size", "accuracy"]
    assert new["model"] == "embedded:tiny-r1" and new["model_sha256"] == digest
    assert new["task_versions"] == {"sum_to": 1, "copy": 1}
    assert {k: v for k, v in new.items() if k not in ("model", "model_sha256", "task_versions")} == \
        {k: v for k, v in r.items() if k != "model"}
    assert (tmp_path / "b" / "results.json").read_text() == before   # recsys: untouched
    text = (tmp_path / "a" / "results.json").read_text()
    assert main([str(tmp_path)]) == 0 and (tmp_path / "a" / "results.json").read_text() == text  # idempotent
