"""Sweeps: grids over config fields, one normal run directory per point.

A config's ``sweep`` is a list of families::

    sweep:
      - {method: sft, grid: {sft.learning_rate: [1.0e-4, 3.0e-4, 1.0e-3]}}
      - {method: sft, family: sft_dial, grid: {sft.on_policy_fraction: [0.25, 0.5, 0.75]}}
      - {method: grpo, family: grpo_control, grid: {tasks: [[rotate]]}}

Each family expands to the Cartesian product of its grid (dotted paths into the config; any field,
including ``tasks`` and ``task_options.<task>.teacher``); each point runs every seed into
``<output_dir>/<family>/<label>/seed<k>/`` and its ``results.json`` carries ``family`` and ``label``.
A family runs when its ``method`` is in ``methods``. Without a sweep there is one point per method,
written to ``<output_dir>/<method>/seed<k>/``.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
from pathlib import Path

from forgetbench.errors import ForgetbenchError

#: Short names for labels.
ABBREV = {"model_name_or_path": "base", "learning_rate": "lr", "on_policy_fraction": "opf", "max_steps": "steps",
          "num_generations": "G", "samples_per_prompt": "k", "interactions_per_stage": "n"}


@dataclasses.dataclass(frozen=True)
class Point:
    family: str
    method: str
    label: str           # "" without a sweep
    config: dict         # the resolved config of this point (``Config.to_dict()`` form)

    def run_dir(self, output_dir: Path, seed: int) -> Path:
        if not self.label:
            return Path(output_dir) / self.method / f"seed{seed}"
        return Path(output_dir) / self.family / self.label / f"seed{seed}"

    def run_name(self, seed: int) -> str:
        """The run's directory relative to output_dir: ``family/label/seed0`` or ``method/seed0``."""
        return self.run_dir(Path(""), seed).as_posix()


def _value_text(v) -> str:
    if isinstance(v, list):
        return "+".join(map(_value_text, v))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def label_of(assignment: dict) -> str:
    """``{"sft.learning_rate": 3e-4, "tasks": ["subtract"]}`` -> ``"lr=0.0003,tasks=subtract"``."""
    parts = []
    for key, v in assignment.items():
        leaf = key.split(".")[-1]
        parts.append(f"{ABBREV.get(leaf, leaf)}={_value_text(v)}")
    return ",".join(parts) or "default"


def set_dotted(config: dict, dotted: str, value) -> None:
    node, parts = config, dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            if i >= 1 and parts[0] in ("task_options", "recsys", "base_recipe"):
                node[part] = {}
            else:
                raise ForgetbenchError(f"sweep: unknown config field {dotted!r}")
        node = node[part]
        if not isinstance(node, dict):
            raise ForgetbenchError(f"sweep: {dotted!r} does not lead into a section")
    if parts[-1] not in node and parts[0] not in ("task_options", "recsys", "base_recipe"):
        raise ForgetbenchError(f"sweep: unknown config field {dotted!r}")
    node[parts[-1]] = value


def expand(config: dict) -> list[Point]:
    """The points of ``config`` (a ``Config.to_dict()``), in sweep order."""
    sweep = config.get("sweep") or []
    methods = config["methods"]
    if not sweep:
        return [Point(m, m, "", config) for m in methods]
    points, seen = [], set()
    for i, fam in enumerate(sweep):
        if not isinstance(fam, dict) or "method" not in fam:
            raise ForgetbenchError(f"sweep[{i}]: each family needs a 'method' (and a 'grid' mapping)")
        unknown = set(fam) - {"method", "family", "grid"}
        if unknown:
            raise ForgetbenchError(f"sweep[{i}]: unknown keys {sorted(unknown)}; use method, family, grid")
        method, family = fam["method"], str(fam.get("family") or fam["method"])
        grid = fam.get("grid") or {}
        if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
            raise ForgetbenchError(f"sweep[{i}] ({family}): grid must map fields to non-empty lists")
        if method not in methods:
            continue
        for values in itertools.product(*grid.values()):
            assignment = dict(zip(grid, values))
            point = copy.deepcopy(config)
            point["methods"] = [method]
            for dotted, v in assignment.items():
                set_dotted(point, dotted, v)
            label = label_of(assignment)
            if (family, label) in seen:
                raise ForgetbenchError(f"sweep: family {family!r} has the point {label!r} twice")
            seen.add((family, label))
            points.append(Point(family, method, label, point))
    if not points:
        raise ForgetbenchError(f"sweep: no family uses any of methods {methods}")
    return points
