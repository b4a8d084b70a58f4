"""How every report section writes numbers and tables: ``fmt`` (adaptive decimals), ``fmt_ci``
(mean ± half-width), ``mean_pm`` (3 decimals), ``interval_cell`` (estimate [low, high]), markdown
``table`` and ``plural``."""
from __future__ import annotations

from forgetbench.report.stats.statistics import MeanCI


def _decimals(big: float) -> int:
    return 0 if big >= 1000 else 1 if big >= 100 else 3


def fmt(v: float | None) -> str:
    """3 decimals; 1 from 100, 0 from 1000; scientific below 0.001."""
    if v is None:
        return "—"
    return f"{v:.1e}" if 0 < abs(v) < 0.001 else f"{v:.{_decimals(abs(v))}f}"


def fmt_ci(s: MeanCI, n_runs: int | None = None) -> str:
    """``mean ± half`` with the decimals ``fmt`` picks for the larger of the two; ``(n=k)`` when
    ``n_runs`` is given and differs from the number of values."""
    if s.n == 0:
        return "—"
    if s.half is None:
        text = fmt(s.mean)
    else:
        big = max(abs(s.mean), abs(s.half))
        d = _decimals(big)
        text = f"{s.mean:.1e} ± {s.half:.1e}" if 0 < big < 0.001 else f"{s.mean:.{d}f} ± {s.half:.{d}f}"
    return text + (f" (n={s.n})" if n_runs is not None and s.n != n_runs else "")


def mean_pm(s: MeanCI) -> str:
    """``mean ± half`` with 3 decimals (no ``±`` when n = 1; ``—`` without a value)."""
    if s.mean is None:
        return "—"
    return f"{s.mean:.3f}" + (f" ± {s.half:.3f}" if s.half is not None else "")


def mean_pm_n(s: MeanCI, n_all: int) -> str:
    """``mean_pm`` followed by ``(n=k)`` when only k of ``n_all`` units have a value."""
    return mean_pm(s) + (f" (n={s.n})" if 0 < s.n < n_all else "")


def interval_cell(v: tuple[float | None, float | None, float | None] | None, signed: bool = True) -> str:
    """``+0.0120 [+0.0040, +0.0200]`` or ``—`` (4 decimals: declines along a frontier can be ~0.001);
    without bounds (None or NaN: one replica, one seed) the estimate and ``(no interval: …)``."""
    if v is None:
        return "—"
    f = "{:+.4f}" if signed else "{:.4f}"
    text = [f.format(x + 0.0 if abs(x) >= 5e-5 else 0.0) if x is not None and x == x else None for x in v]
    if text[1] is None or text[2] is None:
        return f"{text[0]} (no interval: 1 replica, 1 seed)"
    return f"{text[0]} [{text[1]}, {text[2]}]"


def plural(k: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{k} {word}" + ("" if k == 1 else "s")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table: header, separator, one line per row."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]
