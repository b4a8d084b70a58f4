"""Reading one value of a results.json: a number (or None) and the last entry of a per-stage list."""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def num(v: Any) -> float | None:
    """``v`` as a finite-or-nan float; ``None`` for null, bools, strings and other non-numbers."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def last(seq: Any) -> Any:
    """The last entry of a non-empty list (a per-stage list's final stage); None otherwise."""
    return seq[-1] if isinstance(seq, list) and seq else None
