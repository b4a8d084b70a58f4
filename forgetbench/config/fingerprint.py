"""The fingerprint of a run's config: what a resumed run must share with the stored one.

Read from the marks on the fields (``forgetbench.config.marks``): non-semantic fields are left out;
fields and sections added after runs were stored are left out while at their defaults. The hash is
of the sorted JSON of what is left, so it never depends on field order.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from forgetbench.config.marks import added, semantic

#: Fields that once were in the config and are gone (stored configs may still hold them).
RETIRED = ("eval_only",)


def non_semantic_fields(cls) -> set[str]:
    """Top-level fields of ``cls`` marked non-semantic, plus the retired ones."""
    return {f.name for f in dataclasses.fields(cls) if not semantic(f)} | set(RETIRED)


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _strip(node: dict, cls) -> dict:
    """``node`` (a ``cls`` as a dict) without the fields marked added that are at their defaults, at
    any depth (a section's default is compared with its own added fields stripped too)."""
    out = dict(node)
    for f in dataclasses.fields(cls):
        if f.name not in out:
            continue
        default = _default(f)
        section = type(default) if dataclasses.is_dataclass(default) else None
        if section is not None and isinstance(out[f.name], dict):
            out[f.name] = _strip(out[f.name], section)
        if added(f) and out[f.name] == (_strip(dataclasses.asdict(default), section) if section else default):
            del out[f.name]
    return out


def fingerprint(config: dict, cls=None) -> str:
    """16 hex digits of ``config`` (a ``Config.to_dict()``) without its non-semantic fields and its
    added fields at their defaults (``config`` is not changed)."""
    if cls is None:
        from forgetbench.config.schema import config_class

        cls = config_class()
    kept = _strip({k: v for k, v in config.items() if k not in non_semantic_fields(cls)}, cls)
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]
