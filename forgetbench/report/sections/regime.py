"""The regime table at the top of an experiment's report: for each view (``report.stats.views``) and
each comparison, the reference − family decline with its interval and where it is resolved — no
single view is the headline — then every cell of every view (the rows of ``answer.json``)."""
from __future__ import annotations

from forgetbench.report.sections.format import interval_cell, table
from forgetbench.report.stats.views import Row

def at_text(r: Row) -> str:
    if isinstance(r.at, dict):
        return f"lr {r.at['learning_rate']:g}, {r.at['max_steps']} steps"
    return f"{r.at:g}" if isinstance(r.at, float) else str(r.at)


def _where(rows: list[Row], sign: int) -> str:
    """``k/n`` cells whose interval excludes 0 on the side ``sign``, and which."""
    hits = [at_text(r) for r in rows if r.resolved() == sign]
    return f"{len(hits)}/{len(rows)}" + (f": {'; '.join(hits)}" if hits else "")


def regime_table(rows: list[Row]) -> list[str]:
    """One line per (view, comparison, measure): the range of estimates and the cells resolved each way."""
    if not rows:
        return []
    keyed: dict[tuple, list[Row]] = {}
    for r in rows:
        keyed.setdefault((r.trained, r.view, r.comparison, r.measure), []).append(r)
    body = []
    for (trained, view, comparison, measure), rs in keyed.items():
        ests = [r.estimate for r in rs if r.estimate is not None]
        span = f"{min(ests):+.3f} … {max(ests):+.3f}" if ests else "—"
        body.append([trained, view, comparison, measure, span, _where(rs, 1), _where(rs, -1)])
    how = rows[0].resampling
    return (["### The regime table: the answer per view", "",
             "Old-task decline of the reference minus the family (> 0: the family forgets less), per view; "
             "a cell is *resolved* where its 95% interval excludes 0. No view is the headline: each answers "
             f"in its own regime. Resampling: {how}.", ""]
            + table(["trained", "view", "comparison", "measure", "estimates", "resolved > 0 (family forgets less)",
                     "resolved < 0 (family forgets more)"], body)
            + ["", "Every cell (the rows of `answer.json`):", ""]
            + table(["trained", "view", "comparison", "measure", "at", "estimate [95% interval]", "units"],
                    [[r.trained, r.view, r.comparison, r.measure, at_text(r),
                      interval_cell((r.estimate, r.low, r.high)) if r.estimate is not None else "—", str(r.units)]
                     for r in rows]))
