"""Shared loading for data-set tasks: a hub data set by default, or local files in the same format.

Options every data-set task declares: ``path`` / ``name`` (hub id and config, for
``datasets.load_dataset``), ``data_files`` (``{train: FILE, test: FILE}``: local json/jsonl/csv/parquet
files in the hub's row format, used instead of the hub), ``n_train`` / ``n_eval`` (rows kept; 0 = all),
``train_split`` / ``eval_split`` (the hub's split names; default ``train`` / ``test``).

Splits: forgetbench's ``train`` is the data set's train split; ``eval`` is its test split (disjoint
by construction), the first ``n_eval`` rows after a shuffle fixed by ``seed``.
"""
from __future__ import annotations

import os
from pathlib import Path

from forgetbench import Task
from forgetbench.errors import ForgetbenchError

SPLITS = {"train": "train", "eval": "test"}
DATA_OPTIONS = {"data_files": None, "n_train": 0, "n_eval": 200, "train_split": "train", "eval_split": "test"}


def _format(path: str) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    return {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet"}.get(ext, "json")


def load_rows(task_name: str, opts: dict, split: str, seed: int) -> list[dict]:
    """Raw rows of ``split`` (``train`` or ``eval``) from local ``data_files`` or the hub."""
    import datasets

    if split not in SPLITS:
        raise ForgetbenchError(f"task {task_name!r}: unknown split {split!r} (use 'train' or 'eval')")
    files, hub_split = opts.get("data_files"), SPLITS[split]
    try:
        if files:
            if not isinstance(files, dict) or set(files) != {"train", "test"}:
                raise ForgetbenchError(f"task {task_name!r}: data_files must map train and test to files, got {files!r}")
            path = os.path.expanduser(str(files[hub_split]))
            if not os.path.isfile(path):
                raise ForgetbenchError(f"task {task_name!r}: data file {path!r} ({hub_split}) not found")
            ds = datasets.load_dataset(_format(path), data_files={hub_split: path}, split=hub_split)
        else:
            ds = datasets.load_dataset(opts["path"], opts.get("name"), split=opts.get(f"{split}_split", hub_split))
    except ForgetbenchError:
        raise
    except Exception as e:  # offline hub, unknown data set, malformed file
        where = f"data_files {files!r}" if files else f"{opts['path']!r} ({opts.get('name')})"
        offline = (" — the hub is offline (HF_HUB_OFFLINE=1): give local files with task_options: "
                   f"{{{task_name}: {{data_files: {{train: ..., test: ...}}}}}}") if not files and \
            os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ForgetbenchError(f"task {task_name!r}: cannot load {where}: {str(e).splitlines()[0]}{offline}") from e
    n = opts.get("n_eval" if split == "eval" else "n_train") or 0
    if split == "eval":
        ds = ds.shuffle(seed=seed)
    if n and len(ds) > n:
        ds = ds.select(range(n))
    return list(ds)


class DatasetTask(Task):
    """A task whose examples are a data set's rows (``load_rows``), each turned into
    ``{"prompt", "answer", "target", ...}`` by ``example``; ``max_new_tokens`` is an option."""

    def __init__(self, **options):
        super().__init__(**options)
        self.max_new_tokens = int(self.opts["max_new_tokens"])

    def example(self, raw: dict) -> dict:
        raise NotImplementedError

    def load(self, split: str, seed: int = 0):
        from datasets import Dataset

        return Dataset.from_list([self.example(r) for r in load_rows(self.name, self.opts, split, seed)])
