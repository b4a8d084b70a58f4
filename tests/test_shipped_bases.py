"""The shipped embedded bases: every file checked by sha256, clear errors, the builder's layout."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.base_model.shipped import MANIFEST, SHIPPED_ROOT, embedded_base, sha256, shipped_base, verify
from forgetbench.llm.base_model.recipes import REPLICAS, RECIPES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["micro", "tiny-r0", "tiny-r1", "tiny-r2"])
def test_every_shipped_base_verifies_and_records_its_recipe(name):
    meta = verify(SHIPPED_ROOT / name)
    assert meta["key"] == RECIPES[name].key()
    assert set(meta["sha256"]) >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert meta["sha256"]["model.safetensors"] == sha256(SHIPPED_ROOT / name / "model.safetensors")
    assert all(0.0 <= a["greedy"] <= 1.0 for a in meta["accuracy"].values())


def test_replicas_differ_only_in_seed():
    seeds = {n: r.seed for n, r in REPLICAS.items()}
    assert len(set(seeds.values())) == len(REPLICAS) == 3
    base = REPLICAS["tiny-r0"]
    import dataclasses
    assert all(dataclasses.replace(r, seed=base.seed) == base for r in REPLICAS.values())
    digests = {json.loads((SHIPPED_ROOT / n / MANIFEST).read_text())["sha256"]["model.safetensors"] for n in REPLICAS}
    assert len(digests) == 3


def test_tiny_is_replica_0_and_needs_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FORGETBENCH_CACHE", str(tmp_path / "empty"))
    assert embedded_base("tiny") == embedded_base("tiny-r0") == SHIPPED_ROOT / "tiny-r0"
    assert not (tmp_path / "empty").exists()


def _copy(tmp_path, name="micro") -> Path:
    dst = tmp_path / "bases" / name
    shutil.copytree(SHIPPED_ROOT / name, dst)
    return dst


def test_changed_weights_are_one_clear_error(tmp_path):
    d = _copy(tmp_path)
    data = bytearray((d / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (d / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ForgetbenchError, match=r"model\.safetensors does not match its sha256"):
        shipped_base("micro", root=d.parent)


def test_missing_file_is_one_clear_error(tmp_path):
    d = _copy(tmp_path)
    (d / "tokenizer.json").unlink()
    with pytest.raises(ForgetbenchError, match=r"missing file .*tokenizer\.json"):
        shipped_base("micro", root=d.parent)


def test_run_with_a_changed_base_exits_2_naming_the_file(tmp_path):
    d = _copy(tmp_path)
    (d / "config.json").write_text((d / "config.json").read_text() + " ")
    env = {**__import__("os").environ, "FORGETBENCH_BASES": str(d.parent)}
    p = subprocess.run([sys.executable, str(ROOT / "forgetbench" / "run.py"), "--config", str(ROOT / "configs" / "smoke.yaml"),
                        "--model_name_or_path", "embedded:micro",
                        "--output_dir", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    assert "config.json does not match its sha256" in p.stderr and p.stderr.count("\n") == 1


def test_unknown_embedded_base_lists_the_known_ones():
    with pytest.raises(ForgetbenchError, match=r"known: .*embedded:tiny-r1"):
        embedded_base("tiny-r9")


def test_builder_rebuilds_a_recipe_bit_identically_on_one_machine(tmp_path):
    """The documented rebuild command, twice on this machine with the recipe's pinned thread count:
    the same bytes. (Against the shipped weights, ``--check`` reports; another CPU may round
    differently, so that comparison is printed, not asserted.)"""
    digests = []
    for run in ("a", "b"):
        p = subprocess.run([sys.executable, "-m", "forgetbench.llm.base_model.build", "micro", "--out", str(tmp_path / run),
                            "--check"], capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert p.returncode in (0, 1) and "the shipped weights" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
        meta = json.loads((tmp_path / run / MANIFEST).read_text())
        assert meta["key"] == RECIPES["micro"].key() and set(meta["accuracy"]) >= {"copy", "rotate"}
        digests.append(meta["sha256"]["model.safetensors"])
    assert digests[0] == digests[1]


def test_unknown_base_recipe_field_is_named():
    with pytest.raises(ForgetbenchError, match=r"unknown config field 'base_recipe\.nosuch'"):
        embedded_base("micro", {"nosuch": 1})
    assert RECIPES["micro"].with_overrides({"new_tasks": [["rotate", 0.1]]}).new_tasks == (("rotate", 0.1),)
