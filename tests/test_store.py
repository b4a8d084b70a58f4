"""Write safety: results and marker files are written atomically; a failed write keeps the old file."""
import errno
import os

import pytest

from forgetbench.loop import store
from forgetbench.errors import ForgetbenchError


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "results.json"
    store.atomic_write_json(path, {"stages": ["base"]})
    store.atomic_write_json(path, {"stages": ["base", "sum_to"]})
    assert store.read_json(path) == {"stages": ["base", "sum_to"]}
    assert os.listdir(tmp_path) == ["results.json"]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("fault", ["fsync", "replace"])  # after the bytes went to the temp file / at the rename
def test_failed_write_keeps_previous_file(tmp_path, monkeypatch, fault):
    path = tmp_path / "results.json"
    store.atomic_write_json(path, {"stages": ["base"], "accuracy": [[0.5]]})
    before = path.read_bytes()
    monkeypatch.setattr(store.os, fault, _disk_full)
    with pytest.raises(ForgetbenchError, match=r"cannot write .*results\.json: No space left on device"):
        store.atomic_write_json(path, {"stages": ["base", "sum_to"], "accuracy": [[0.5], [0.9]]})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.json"]  # the temporary file is gone


def test_unserialisable_results_keep_previous_file(tmp_path):
    path = tmp_path / "results.json"
    store.atomic_write_json(path, {"stages": ["base"]})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        store.atomic_write_json(path, {"stages": ["base", object()]})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["results.json"]


def test_corrupt_json_is_named(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"stages": [\n"base",\n')
    with pytest.raises(ForgetbenchError, match=r"results\.json: not valid JSON \(line 3"):
        store.read_json(path)
