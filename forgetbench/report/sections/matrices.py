"""Report sections: seed-mean accuracy matrices R[stage][task] (with the random policy's ratio for the
recommender) and the recommender's defects at the final stage."""
from __future__ import annotations

from forgetbench.report.runs import Run, mean_matrix, mean_random_ratio
from forgetbench.report.sections.format import fmt, fmt_ci, table
from forgetbench.report.stats.group_means import final_defects


def matrix_section(groups: dict[str, list[Run]]) -> list[str]:
    """One seed-mean matrix per group (recsys: with the random policy's ratio and the normalised final row)."""
    out = []
    for g, rs in groups.items():
        stages, tasks, mat = mean_matrix(rs)
        note = "" if len({len(r.stages) for r in rs}) == 1 else \
            "; rows past a run's last stage average fewer runs"
        out += ["", f"#### {g} (seed mean, n={len(rs)}{note})", ""]
        rows = [[f"{i}: {s}"] + [fmt(v) for v in row] for i, (s, row) in enumerate(zip(stages, mat))]
        rr = mean_random_ratio(rs)
        if rr:
            rows.append(["*random policy*"] + [fmt(rr.get(t)) for t in tasks])
            final = mat[-1]
            rows.append(["*final, (acc−random)/(1−random)*"] + [
                fmt((v - rr[t]) / (1 - rr[t])) if v is not None and t in rr and rr[t] != 1 else "—"
                for t, v in zip(tasks, final)])
        out += table(["stage \\ task"] + tasks, rows)
    return out


def defects_section(groups: dict[str, list[Run]]) -> list[str]:
    """The final-stage defects per group (empty when no run reports any)."""
    per = {g: final_defects(rs) for g, rs in groups.items()}
    keys: list[str] = []
    for d in per.values():
        keys += [k for k in d if k not in keys]
    if not keys:
        return []
    rows = [[g] + [fmt_ci(d[k], len(groups[g])) if k in d else "—" for k in keys]
            for g, d in per.items()]
    return ["", "### Recommender defects (final stage, mean ± 95% CI over seeds)", ""] + \
        table(["method"] + keys, rows)


