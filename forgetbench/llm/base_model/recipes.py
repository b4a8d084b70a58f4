"""The embedded base recipes: a char-level Llama of ~1M parameters, pretrained by the project itself.

Pretraining mixture: the prior skills, plus a light exposure (a small fraction of all rows per
task, calibrated by measurement) to the new tasks with answers drawn uniformly among the correct
ones, so the base knows the prior skills well and the new tasks only partly. The replicas
``tiny-r0`` … ``tiny-r2`` share one recipe and differ only in the pretraining ``seed``.

The bases are **shipped** built (``forgetbench/bases/<name>/``, see ``shipped``); ``build`` builds
them (``python -m forgetbench.llm.base_model.build``) and a changed recipe (config ``base_recipe``)
into ``$FORGETBENCH_CACHE``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

RECIPE_VERSION = 3


@dataclasses.dataclass(frozen=True)
class BaseRecipe:
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 384
    steps: int = 1800
    batch_size: int = 64
    learning_rate: float = 2e-3
    prior_tasks: tuple[str, ...] = ("copy", "reverse", "add")
    #: New tasks and the fraction of all pretraining rows each gets (uniformly drawn correct answers).
    new_tasks: tuple[tuple[str, float], ...] = (("even_between", 0.015), ("sum_to", 0.1),
                                               ("multiple", 0.008), ("rotate", 0.03))
    seed: int = 1234
    #: torch threads during the build (a different count changes float reductions, hence the weights).
    threads: int = 1

    def with_overrides(self, overrides: dict, where: str = "base_recipe") -> "BaseRecipe":
        """This recipe with ``overrides`` (field -> value, through the config parser: YAML/JSON lists
        become tuples); a bad field is one ForgetbenchError naming ``<where>.<field>``."""
        from forgetbench.config.parse import typed_fields

        return dataclasses.replace(self, **typed_fields(BaseRecipe, dict(overrides), f"{where}."))

    def key(self) -> str:
        blob = json.dumps({"v": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


_TINY = BaseRecipe()
#: Replicas of the tiny recipe (only the seed differs); ``tiny`` is replica 0.
REPLICAS = {f"tiny-r{i}": dataclasses.replace(_TINY, seed=_TINY.seed + i) for i in range(3)}
RECIPES = {
    "tiny": REPLICAS["tiny-r0"],
    **REPLICAS,
    # A micro base for tests and smoke runs: built in seconds, competence not guaranteed.
    "micro": BaseRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, steps=120,
                        batch_size=32, learning_rate=3e-3,
                        new_tasks=(("even_between", 0.05), ("sum_to", 0.03), ("multiple", 0.05), ("rotate", 0.05))),
}
#: Names that are the same shipped files (``embedded:tiny`` is ``embedded:tiny-r0``).
ALIASES = {"tiny": "tiny-r0"}
