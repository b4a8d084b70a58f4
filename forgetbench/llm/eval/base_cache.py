"""What a run computes from the base model alone, kept on disk across runs: every run of a sweep
starts from the same base, so the first run computes and the others read (``$FORGETBENCH_CACHE``):

- ``base-eval/``: the base row's evaluation (accuracy per task, per-example correctness);
- ``base-draws/``: the forward KL's samples from the base and the base's logits on them (``lm_kl``'s
  ``draws``);
- ``base-spectra/``: the base matrices' singular spectra (``drift_report``'s ``base_spectra``).

The numbers are the ones the run would compute: each entry's key holds everything they depend on —
the weights' files (name, size, mtime), dtype, torch thread count and the library versions
(:func:`base_identity`), plus what the entry itself depends on (the eval rows as formatted, each
task's version, the ``eval`` settings and, when sampling, the seed; ``lm_kl``'s prompts and settings;
the matrix's name). A task whose scoring changes must bump its ``version`` (as for resuming runs).
Off with ``cache_base_eval: false``; never used with more than one process.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from forgetbench.llm.base_model.files import cache_root

#: The folders under ``$FORGETBENCH_CACHE``: the base row's evaluation, ``lm_kl``'s draws, the spectra.
EVAL, DRAWS, SPECTRA = "base-eval", "base-draws", "base-spectra"


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _files(path: str) -> list:
    """``[name, size, mtime_ns]`` of the weights' files (a directory's, or the one file)."""
    p = Path(path)
    if not p.exists():
        return [str(path)]  # a hub id: its name
    files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    return [[str(f.relative_to(p) if p.is_dir() else f.name), f.stat().st_size, f.stat().st_mtime_ns] for f in files]


def base_identity(model_path: str, dtype: str) -> dict:
    """What every cached number depends on: the weights, their dtype, the thread count, the libraries."""
    import transformers

    import forgetbench

    return {"weights": _files(model_path), "dtype": dtype, "threads": torch.get_num_threads(),
            "libraries": [torch.__version__, transformers.__version__, getattr(forgetbench, "__version__", "")]}


class DiskMemo:
    """A memo kept on disk under ``<cache>/<kind>/``: ``memo.get(key)`` / ``memo[key] = value`` (all that
    ``lm_kl``'s draws and ``drift_report``'s base spectra use of a dict) for
    anything ``torch.save`` takes; a file per (identity, key), written atomically (concurrent Ray runs
    read a whole file or none); a damaged file counts as absent."""

    def __init__(self, kind: str, identity):
        self.root, self.identity, self._mem = cache_root() / kind, _digest(identity), {}

    def _path(self, key) -> Path:
        return self.root / f"{_digest([self.identity, key])}.pt"

    def get(self, key, default=None):
        if key not in self._mem and self._path(key).exists():
            try:
                self._mem[key] = torch.load(self._path(key), weights_only=False)
            except Exception:  # a damaged or half-copied file: computed again and replaced
                pass
        return self._mem.get(key, default)

    def __setitem__(self, key, value) -> None:
        if self._mem.get(key) is value:
            return  # already kept (drift_report stores every spectrum it read)
        self._mem[key] = value
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp.")
        with os.fdopen(fd, "wb") as f:
            torch.save(value, f)
        os.replace(tmp, self._path(key))


def base_eval_memo(identity: dict, suite, cfg, seed: int) -> DiskMemo:
    """The memo of the base row's evaluation (key ``"evaluation"``) for this base (``base_identity``),
    these rows and settings."""
    rows = _digest(suite.rows)
    return DiskMemo(EVAL, {**identity, "rows": rows,
                                  "versions": {n: getattr(t, "version", 1) for n, t in suite.tasks.items()},
                                  "eval": dataclasses.asdict(cfg.eval), "chat": [cfg.chat_template, cfg.chat_system],
                                  "seed": seed if cfg.eval.sampled else None})
