"""Files of a base on disk: their sha256, and a directory made once by the main process and waited for
by every other process.

Used for whatever a run creates before it starts (an embedded base built from a changed recipe, a
converted GGUF file): the main process builds into a temporary directory and renames it into place
(atomic), the others poll for the finished marker file instead of relying on a collective barrier,
so a rank that gets there first never reads a half-made directory. A failed build leaves a
``<dir>.failed`` note whose message the waiting ranks raise.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from forgetbench.errors import ForgetbenchError

POLL_S = 0.5


def cache_root() -> Path:
    """Where created files live: ``$FORGETBENCH_CACHE`` (default ``~/.cache/forgetbench``)."""
    return Path(os.environ.get("FORGETBENCH_CACHE", Path.home() / ".cache" / "forgetbench"))


def created_once(out: Path, marker: str, build: Callable[[Path], None], *, announce: str,
                 timeout_s: float | None = None) -> Path:
    """``out`` once ``out/marker`` exists: built here by ``build(tmp_dir)`` on the main process, waited
    for on the others (up to ``timeout_s``, default ``$FORGETBENCH_WAIT_S`` or 6 h)."""
    from accelerate import PartialState

    done, failed = out / marker, out.with_name(out.name + ".failed")
    if done.exists():
        return out
    if PartialState().is_main_process:
        print(announce, flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        failed.unlink(missing_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
        try:
            build(tmp)
            shutil.rmtree(out, ignore_errors=True)
            os.replace(tmp, out)
        except BaseException as e:
            failed.write_text(f"{type(e).__name__}: {e}")
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out
    limit = timeout_s if timeout_s is not None else float(os.environ.get("FORGETBENCH_WAIT_S", 6 * 3600))
    start = time.time()
    while not done.exists():
        if failed.exists():
            raise ForgetbenchError(f"the main process failed to create {out}: {failed.read_text()}")
        if time.time() - start > limit:
            raise ForgetbenchError(f"waited {limit:.0f} s for the main process to create {out}; giving up")
        time.sleep(POLL_S)
    return out


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of one file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


#: File names that hold a model's weights (shards included).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def weights_sha256(model: str | os.PathLike) -> str | None:
    """The sha256 of a local model's weights: one weights file's own digest, several files' (shards')
    the digest of their ``<digest>  <name>`` lines (``sha256sum`` style, sorted by name). Digests listed
    in the directory's ``base.json`` (an embedded base's manifest, checked at load) are not recomputed.
    None for what is not a local directory or file (a hub id)."""
    import json

    path = Path(model).expanduser()
    if path.is_file():
        return sha256(path)
    if not path.is_dir():
        return None
    manifest = path / "base.json"
    listed = json.loads(manifest.read_text()).get("sha256", {}) if manifest.is_file() else {}
    names = sorted(p.name for p in path.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not names:
        return None
    digests = {n: listed.get(n) or sha256(path / n) for n in names}
    if len(names) == 1:
        return digests[names[0]]
    return hashlib.sha256("".join(f"{digests[n]}  {n}\n" for n in names).encode()).hexdigest()
