"""Strict parsing shared by the built-in tasks: a completion is judged after stripping spaces."""
from __future__ import annotations

import re

_INT = re.compile(r"^-?\d+$")
_SUM = re.compile(r"^(\d+)\+(\d+)$")


def clean(completion: str) -> str:
    return completion.strip() if isinstance(completion, str) else ""


def parse_int(completion: str) -> int | None:
    """The integer the whole completion spells (no leading zeros beyond '0'), else None."""
    s = clean(completion)
    if not _INT.match(s) or (len(s.lstrip("-")) > 1 and s.lstrip("-")[0] == "0"):
        return None
    return int(s)


def parse_sum(completion: str) -> tuple[int, int] | None:
    """``"a+b"`` -> (a, b), else None."""
    m = _SUM.match(clean(completion))
    if not m or any(len(g) > 1 and g[0] == "0" for g in m.groups()):
        return None
    return int(m.group(1)), int(m.group(2))
