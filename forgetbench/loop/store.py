"""Atomic persistence: every results and marker file is written to a temporary file, then renamed."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from forgetbench.errors import ForgetbenchError


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise ForgetbenchError(f"cannot write {path}: {e.strerror or e} (its previous version, if any, "
                                   f"is kept)") from e
        raise


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=True) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ForgetbenchError(f"{path}: not valid JSON (line {e.lineno}: {e.msg}); move it away or rerun "
                               f"with --overwrite") from None
