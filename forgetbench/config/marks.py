"""Marks on config fields, read by the fingerprint (``forgetbench.config.fingerprint``).

``field(default=…, metadata=NON_SEMANTIC)``: the field does not change what a run computes (a
rerun may differ in it). ``metadata=ADDED``: the field (or section) came after runs were stored; it
is left out of the fingerprint while at its default, so adding it does not orphan finished runs.
"""
from __future__ import annotations

import dataclasses

NON_SEMANTIC = {"semantic": False}
ADDED = {"added": True}


def semantic(f: dataclasses.Field) -> bool:
    return f.metadata.get("semantic", True)


def added(f: dataclasses.Field) -> bool:
    return f.metadata.get("added", False)
