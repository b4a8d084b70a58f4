"""Tier 3b of the report: the figures (matplotlib) and the files (report.md, summary.csv, plots/).

The one place the report picks matplotlib's backend: Agg, nothing is shown on screen. Every module
of this package is imported after this line runs."""
import matplotlib

matplotlib.use("Agg")
