"""Rebuild an embedded base recipe into the shipped layout (for users who change the world).

    python -m forgetbench.llm.build_base tiny-r1 --out DIR          # one recipe as shipped
    python -m forgetbench.llm.build_base tiny-r0 --set steps=900 --set seed=7 --out DIR
    python -m forgetbench.llm.build_base all --out forgetbench/bases # every shipped base, in place

The build pins torch to the recipe's ``threads`` (1 by default): the same machine rebuilds a
recipe bit-identically (same sha256); another CPU or library version may round differently and give
a different, equally valid base. ``--check`` rebuilds into a temporary directory and compares the
weights' sha256 with the shipped ones.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
from pathlib import Path


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    from forgetbench.llm.shipped_base import SHIPPED_ROOT, sha256
    from forgetbench.llm.tiny_base import ALIASES, RECIPES, build_base

    p = argparse.ArgumentParser(prog="python -m forgetbench.llm.build_base", description=__doc__.split("\n\n")[0])
    p.add_argument("name", help=f"a recipe ({', '.join(n for n in RECIPES if n not in ALIASES)}) or 'all'")
    p.add_argument("--out", type=Path, help="output directory (for 'all': the parent; default: a new temp dir)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="change a recipe field")
    p.add_argument("--check", action="store_true", help="rebuild and compare sha256 with the shipped base")
    p.add_argument("--recipe_json", help="with name 'custom': every recipe field as JSON (used by base_recipe)")
    a = p.parse_args(argv)
    if a.name == "custom":
        from forgetbench.llm.tiny_base import BaseRecipe

        recipe = BaseRecipe().with_overrides(json.loads(a.recipe_json or "{}"), where="--recipe_json")
        build_base(recipe, a.out or Path(tempfile.mkdtemp(prefix="base-custom-")))
        return 0
    names = [n for n in RECIPES if n not in ALIASES] if a.name == "all" else [ALIASES.get(a.name, a.name)]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"build_base: unknown recipe {unknown[0]!r}; known: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        recipe = RECIPES[name].with_overrides(_parse_set(a.set), where="--set")
        root = a.out if a.out is not None and a.name == "all" else None
        out = root / name if root else (a.out or Path(tempfile.mkdtemp(prefix=f"base-{name}-")))
        print(f"build_base: {name} (recipe {recipe.key()}, {recipe.threads} thread(s)) -> {out}", flush=True)
        meta = build_base(recipe, out)
        print(json.dumps({"name": name, "build_seconds": meta["build_seconds"], "accuracy": meta.get("accuracy"),
                          "model.safetensors": meta["sha256"]["model.safetensors"]}), flush=True)
        if a.check:
            shipped = sha256(SHIPPED_ROOT / name / "model.safetensors")
            same = shipped == meta["sha256"]["model.safetensors"]
            print(f"build_base: {name}: {'bit-identical to' if same else 'DIFFERS from'} the shipped weights")
            status |= 0 if same else 1
    return status


if __name__ == "__main__":
    from forgetbench.errors import ForgetbenchError

    try:
        sys.exit(main())
    except ForgetbenchError as e:
        print(f"build_base: error: {e}", file=sys.stderr)
        sys.exit(2)
