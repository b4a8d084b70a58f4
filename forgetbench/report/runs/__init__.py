"""Tier 1 of the report: the runs. Reading results.json files into ``Run`` objects, their summary
rows, grouping (table group, sweep family, trained sequence, unit, sweep point), single values read
off a run and seed-mean accuracy matrices. Imports nothing of ``report.stats``, ``report.sections``
or ``report.render``."""
from forgetbench.report.runs.groups import (
    base_of, family_groups, family_of, group_runs, pooled_label, trained_sequence, unit_of,
)
from forgetbench.report.runs.load import find_runs
from forgetbench.report.runs.matrices import mean_matrix, mean_random_ratio
from forgetbench.report.runs.run import ACC, DECLINE, OLD, SUMMARY_METRICS, Run, planned_tasks, summarize
from forgetbench.report.runs.values import last, num

__all__ = ["ACC", "DECLINE", "OLD", "SUMMARY_METRICS", "Run", "base_of", "family_groups", "family_of",
           "find_runs", "group_runs", "last", "mean_matrix", "mean_random_ratio", "num", "planned_tasks",
           "pooled_label", "summarize", "trained_sequence", "unit_of"]
