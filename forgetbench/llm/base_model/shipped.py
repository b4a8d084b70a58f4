"""The shipped embedded bases: ``forgetbench/bases/<name>/`` inside the package, loaded as they are.

Each directory holds the weights (``model.safetensors``), the char tokenizer, the HF config files and
``base.json``: the recipe, its key, the per-task eval accuracies measured at build time and the
sha256 of every other file. Loading checks every digest, so a user measures exactly the world
everyone else does; a missing or changed file is one clear error naming it.

``embedded:<name>`` with a changed ``base_recipe`` is built instead into
``$FORGETBENCH_CACHE/base-<name>-<recipe key>`` (same layout), by the main process only.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.base_model.files import cache_root, created_once, sha256
from forgetbench.llm.base_model.recipes import ALIASES, RECIPES, REPLICAS

MANIFEST = "base.json"
SHIPPED_ROOT = Path(__file__).resolve().parents[2] / "bases"


def write_manifest(directory: Path, meta: dict) -> dict:
    """Write ``base.json`` = ``meta`` + ``sha256`` of every other file in ``directory``."""
    files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != MANIFEST)
    meta = {**meta, "sha256": {name: sha256(directory / name) for name in files}}
    (directory / MANIFEST).write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def verify(directory: Path) -> dict:
    """The manifest of ``directory`` after checking every listed file's sha256 (ForgetbenchError naming
    the first missing or changed file)."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise ForgetbenchError(f"embedded base {directory}: missing file {manifest}")
    meta = json.loads(manifest.read_text())
    for name, digest in meta.get("sha256", {}).items():
        path = directory / name
        if not path.is_file():
            raise ForgetbenchError(f"embedded base {directory.name!r}: missing file {path}")
        if sha256(path) != digest:
            raise ForgetbenchError(f"embedded base {directory.name!r}: {path} does not match its sha256 in "
                                   f"{manifest} (the file was changed; reinstall the package or rebuild with "
                                   f"python -m forgetbench.llm.base_model.build {directory.name} --out {directory})")
    return meta


def shipped_names() -> list[str]:

    return sorted(ALIASES) + sorted(p.name for p in SHIPPED_ROOT.iterdir() if (p / MANIFEST).exists())


def shipped_base(name: str, root: Path | None = None) -> Path:
    """Verified directory of the shipped base ``name`` (``tiny`` is ``tiny-r0``)."""

    root = root or Path(os.environ.get("FORGETBENCH_BASES", SHIPPED_ROOT))
    path = root / ALIASES.get(name, name)
    if not path.is_dir():
        raise ForgetbenchError(f"embedded base {name!r}: missing directory {path}; known: "
                               f"{', '.join('embedded:' + n for n in shipped_names())}")
    verify(path)
    return path


def build_in_subprocess(recipe, out: Path) -> None:
    """Build ``recipe`` into ``out`` in a fresh Python process outside any process group: under
    ``accelerate launch`` the trainer would otherwise wait for ranks that are waiting for the base."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                        "GROUP_RANK", "ROLE_RANK", "TORCHELASTIC_RUN_ID") and not k.startswith("ACCELERATE_")}
    cmd = [sys.executable, "-m", "forgetbench.llm.base_model.build", "custom", "--recipe_json",
           json.dumps(dataclasses.asdict(recipe)), "--out", str(out)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise ForgetbenchError(f"building the embedded base with recipe {recipe.key()} failed: {tail[0]}")


def embedded_base(name: str, base_recipe: dict | None = None) -> Path:
    """``embedded:<name>``: the shipped base, or — with a ``base_recipe`` that changes its recipe —
    that recipe built once into the cache (main process; the others wait)."""

    if name not in RECIPES:
        raise ForgetbenchError(f"model_name_or_path 'embedded:{name}': unknown embedded base; "
                               f"known: {', '.join('embedded:' + n for n in RECIPES)}")
    recipe = RECIPES[name].with_overrides(base_recipe or {})
    if recipe == RECIPES[name]:
        return shipped_base(name)

    out = cache_root() / f"base-{ALIASES.get(name, name)}-{recipe.key()}"
    return created_once(out, MANIFEST, lambda tmp: build_in_subprocess(recipe, tmp),
                        announce=f"[forgetbench] building the embedded base {name!r} with a changed recipe "
                                 f"({recipe.key()}) -> {out}")


def accuracy_table(root: Path | None = None) -> str:
    """Markdown: each shipped tiny replica's greedy / sampled accuracy per task (from ``base.json``)."""

    root = root or SHIPPED_ROOT
    metas = {n: json.loads((root / n / MANIFEST).read_text()) for n in REPLICAS if (root / n / MANIFEST).exists()}
    if not metas:
        return "(no shipped tiny replica)"
    tasks = list(next(iter(metas.values()))["accuracy"])
    lines = ["| task | " + " | ".join(f"{n} greedy / sampled" for n in metas) + " |",
             "|---|" + "---|" * len(metas)]
    for t in tasks:
        cells = [f"{m['accuracy'][t]['greedy']:.3f} / {m['accuracy'][t]['sampled']:.3f}" for m in metas.values()]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append("| model.safetensors sha256 | " + " | ".join(f"`{m['sha256']['model.safetensors'][:12]}…`"
                                                        for m in metas.values()) + " |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m forgetbench.llm.base_model.shipped: verify and print the table
    for name in shipped_names():
        shipped_base(name)
    print(accuracy_table())
