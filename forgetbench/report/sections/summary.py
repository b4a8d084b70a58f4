"""Report section: the summary table (seed means with 95% t-intervals) and the metric definitions."""
from __future__ import annotations

from forgetbench.measures.continual import metric_definitions
from forgetbench.report.runs import SUMMARY_METRICS, Run
from forgetbench.report.sections.format import fmt_ci, table
from forgetbench.report.stats.group_means import summary_stats

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


def summary_section(groups: dict[str, list[Run]], defs: dict[str, str]) -> list[str]:
    """The summary table (one row per group), the note on its cells and the definitions of its columns."""
    rows = []
    for g, rs in groups.items():
        rows.append([g, str(len(rs))] + [fmt_ci(summary_stats(rs, k), len(rs)) for k in SUMMARY_METRICS])
    out = table(["method", "n"] + list(SUMMARY_METRICS), rows)
    out += ["", _CI_NOTE, ""]
    out += [f"- **{k}** — {defs.get(k, '(no definition)')}" for k in SUMMARY_METRICS]
    return out


