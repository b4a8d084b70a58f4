"""Tier 3a of the report: the sections. Each turns numbers (``report.stats``) into markdown lines and
tables, sharing one way of writing numbers (``format``); a section that shows a plot receives its
path from ``report.render``. No matplotlib, no file writing."""
