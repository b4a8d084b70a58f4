"""Named experiments shipped inside the package: ``--config razor_lite`` finds
``forgetbench/configs/razor_lite.yaml``; a path to a YAML file works as before.

A checkout has ``configs/`` at its root as a link to the same folder, so
``--config configs/default.yaml`` and ``--config default`` name one file.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from forgetbench.errors import ForgetbenchError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT = "default"


def named_configs() -> dict[str, Path]:
    """Every shipped experiment by name (the file's stem), sorted."""
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.yaml"))}


def summary(path: Path) -> str:
    """The first comment line of a config file (its one-line description), without the ``#``."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def resolve_config(name_or_path: str) -> Path:
    """The file ``name_or_path`` names: an existing path as given, else a shipped experiment's name
    (``razor_lite`` or ``razor_lite.yaml``); otherwise one error with close matches and the list."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    names = named_configs()
    stem = path.name[:-5] if path.name.endswith(".yaml") else path.name
    named = len(path.parts) == 1 or path.parent.name == "configs"
    if stem in names and named:
        return names[stem]
    if not named:                                   # a path elsewhere: it is just missing
        raise ForgetbenchError(f"config file {name_or_path!r} not found")
    close = difflib.get_close_matches(stem, list(names), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ForgetbenchError(f"config {name_or_path!r} is neither a file nor a shipped experiment; {hint}"
                           f"shipped: {', '.join(names)} (forgetbench configs lists them)")


def describe_configs() -> list[str]:
    """One line per shipped experiment: its name and first comment line."""
    names = named_configs()
    width = max(map(len, names), default=0)
    return [f"{n:<{width}}  {summary(p)}" for n, p in names.items()]
