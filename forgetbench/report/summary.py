"""Report section: the summary table (seed means with 95% t-intervals), the metric definitions,
and the number formatting every section shares."""
from __future__ import annotations

from forgetbench.measures.continual import metric_definitions
from forgetbench.report.runs import SUMMARY_METRICS, Run
from forgetbench.report.statistics import MeanCI, mean_ci

# Definitions of the report's derived columns; the continual metrics come from measures.continual.
_OWN_DEFINITIONS = {
    "final_old_task_decline": "old_task_decline at the last trained stage present",
    "mean_new_task_gain": "mean of new_task_gain over the trained stages present",
    "final_relative_l2": "relative_l2 = ‖θ-θ0‖₂/‖θ0‖₂ (θ0 = base weights) at the last stage",
    "final_angular_deg": "angular_deg = mean over weight matrices of arccos(cos(W, W0)), in degrees, "
                         "at the last stage",
    "final_new_task_forward_kl": "new_task_forward_kl = E_{x~new-task prompts} E_{y~π0(·|x)} "
                                 "Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t)) in nats/sequence, at the last stage",
    "final_old_task_forward_kl": "old_task_forward_kl = the same forward KL on the old tasks' prompts "
                                 "(mean over old tasks), at the last stage",
    "total_train_seconds": "wall-clock training seconds summed over the stages present",
}
_CI_NOTE = ("Cells: mean ± 95% CI half-width over seeds, t_{0.975, n-1}·sd/√n (sample sd); "
            "no ± when n = 1; `(n=k)` when a metric is missing in some runs; — = no data.")


def all_definitions() -> dict[str, str]:
    """One-line definition for every summary column (and the raw continual metrics)."""
    base = dict(metric_definitions())
    out = dict(base)
    for key, text in _OWN_DEFINITIONS.items():
        raw = key.removeprefix("final_").removeprefix("mean_")
        out[key] = f"{text}; {raw}: {base[raw]}" if raw in base else text
    return out


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


def _n(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _stats(runs: list[Run], key: str) -> MeanCI:
    return mean_ci(r.summary.get(key) for r in runs)


def summary_section(groups: dict[str, list[Run]], defs: dict[str, str]) -> list[str]:
    rows = []
    for g, rs in groups.items():
        rows.append([g, str(len(rs))] + [fmt_ci(_stats(rs, k), len(rs)) for k in SUMMARY_METRICS])
    out = _table(["method", "n"] + list(SUMMARY_METRICS), rows)
    out += ["", _CI_NOTE, ""]
    out += [f"- **{k}** — {defs.get(k, '(no definition)')}" for k in SUMMARY_METRICS]
    return out


