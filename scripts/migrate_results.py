"""Rewrite stored LLM ``results.json`` files in place to the current results contract.

``model`` (once the resolved path on the machine that ran it, e.g. ``/…/forgetbench/bases/tiny-r0``)
becomes the name given (``config.model_name_or_path``); ``model_sha256`` (the weights' digest: the
shipped base's, or a local directory's; null for a hub id) and ``task_versions`` (every task at 1, the
version of every run stored before tasks had versions) follow it. Nothing else changes: same key order,
same formatting (``atomic_write_json``). Recsys runs and already-migrated files are left alone; the
fingerprint is unchanged (versions at 1 are left out of it), so migrated runs still resume.

    python scripts/migrate_results.py results/reference [more dirs or files ...]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forgetbench.llm.base_model.files import weights_sha256
from forgetbench.loop.store import atomic_write_json


def _dump(obj) -> str:
    """The text ``atomic_write_json`` writes."""
    return json.dumps(obj, indent=1, allow_nan=True) + "\n"


def model_sha256(name: str, config: dict) -> str | None:
    """The digest of the weights ``name`` stands for: a shipped embedded base's (from its verified
    manifest), a local path's; None for a hub id, a base built from a changed recipe or a GGUF file."""
    if config.get("base_recipe") or config.get("gguf_file"):
        return None
    if name.startswith("embedded:"):
        from forgetbench.llm.base_model.shipped import shipped_base

        return weights_sha256(shipped_base(name.removeprefix("embedded:")))
    return weights_sha256(name)


def migrated(r: dict, digests: dict) -> dict | None:
    """``r`` with the new fields, or None when there is nothing to do."""
    if r.get("domain") != "llm" or "model_sha256" in r:
        return None
    config = r["config"]
    name = config["model_name_or_path"]
    if name not in digests:
        digests[name] = model_sha256(name, config)
    versions = {t: 1 for t in dict.fromkeys(config["tasks"] + config.get("prior_tasks", []))}
    out = {}
    for key, value in r.items():
        out[key] = name if key == "model" else value
        if key == "model":
            out.update(model_sha256=digests[name], task_versions=versions)
    return out


def migrate(paths: list[Path]) -> tuple[int, int, list[str]]:
    """(migrated, left alone, refused) over every ``results.json`` under ``paths``."""
    done, same, refused, digests = 0, 0, [], {}
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("results.json")))]
    for f in files:
        text = f.read_text()
        r = json.loads(text)
        if _dump(r) != text:      # not written by atomic_write_json: rewriting it would change more
            refused.append(str(f))
            continue
        new = migrated(r, digests)
        if new is None:
            same += 1
            continue
        atomic_write_json(f, new)
        done += 1
    return done, same, refused


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path, help="results directories or results.json files")
    args = ap.parse_args(argv)
    done, same, refused = migrate(args.paths)
    print(f"migrated {done}, left alone {same} (recsys or migrated already), refused {len(refused)}")
    for f in refused:
        print(f"  refused (not in atomic_write_json's format): {f}")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
