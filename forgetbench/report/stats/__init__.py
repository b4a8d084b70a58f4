"""Tier 2 of the report: the numbers. Pure functions over runs (``report.runs``) and points: seed
statistics and t-intervals, fits and correlations, Pareto frontiers and the one interpolation, the
hierarchical bootstrap, matched-accuracy curves and comparisons, the predictors' table, the
conjecture's verdicts, the budget numbers, per-example events. No markdown (``report.sections``), no
matplotlib (``report.render``)."""
