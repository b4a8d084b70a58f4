"""Run configuration: YAML file + CLI overrides in TRL's style, parsed into dataclasses, validated.

``--config FILE`` then ``--field value`` (lists space-separated: ``--seeds 0 1 2``; sections with a
dot: ``--grpo.learning_rate 5e-5``; a bare ``--overwrite`` means true). Every error names the field.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from forgetbench.config.lm_eval_params import LMEvalParams
from forgetbench.config.marks import ADDED, NON_SEMANTIC
from forgetbench.config.parse import build_dataclass, load_yaml, parse_cli, yaml_located
from forgetbench.config.validate import validate
from forgetbench.errors import ForgetbenchError


def _quiet(default):
    """A field that does not change what a run computes (left out of the fingerprint)."""
    if callable(default):
        return field(default_factory=default, metadata=NON_SEMANTIC)
    return field(default=default, metadata=NON_SEMANTIC)


@dataclass
class EvalParams:
    sampled: bool = False
    n_samples: int = 4
    batch_size: int = 256
    #: Samples per new-task eval prompt for answer diversity after each stage (0 = off).
    diversity_samples: int = 0
    lm_eval: LMEvalParams = field(default_factory=LMEvalParams, metadata=ADDED)
    #: Greedy batches compute their prompts' shared token prefix once (a chat template's system turn):
    #: the same completions (tested), about half the generation time on SmolLM2 (llm/eval/generation.py).
    share_prefix: bool = field(default=False, metadata=ADDED)


@dataclass
class KLParams:
    n_prompts: int = 32
    n_samples: int = 2
    batch_size: int = 64


@dataclass
class DriftParams:
    #: Matrices the SVD drift measures (update rank, spectral shift, principal angle) use: null = all
    #: (exact); N = N evenly spaced ones, a sampled mean for large models (``measures.drift.svd_selection``).
    svd_matrices: Optional[int] = None


@dataclass
class SaturationParams:
    """The stage probe (``llm/stage_probe.py``): every ``every`` optimizer steps the greedy accuracy of
    the stage's task on its first ``n_prompts`` eval prompts; saturated at ``threshold``. ``every: 0``
    turns the probe off (no saturation record, no angular step)."""
    every: int = 4
    n_prompts: int = 32
    threshold: float = 0.95


@dataclass
class RayParams:
    #: An existing cluster (``ray://…`` or ``host:port``; else ``RAY_ADDRESS``); null = a local instance.
    address: Optional[str] = None
    #: Resources per (sweep point, seed) run; the run's torch threads = its CPUs.
    num_cpus: float = 1
    num_gpus: float = 0


@dataclass
class ExpertParams:
    """The ``teacher: expert`` recipe of ``kd`` and ``opd``: SFT of the stage-start model on the task's targets."""
    learning_rate: float = 3e-4
    #: Optimizer steps of ``prompts_per_step`` rows (null = ``max_steps``).
    max_steps: Optional[int] = None


@dataclass
class CoreConfig:
    """The fields of ``Config`` beside the methods' sections."""
    experiment: str = "default"
    domain: str = "llm"
    model_name_or_path: str = "embedded:tiny"
    gguf_file: Optional[str] = None
    #: Wrap prompts in the tokenizer's chat template as one user message: auto (when it has one), true, false.
    chat_template: Any = "auto"
    #: A system message put before each prompt under the chat template (null = the template's default).
    chat_system: Optional[str] = None
    #: Weight precision: auto (fp32 weights; bf16 autocast on CUDA), float32, bfloat16, float16.
    dtype: str = "auto"
    #: LoRA (``peft.LoraConfig`` fields, e.g. ``{r: 8, lora_alpha: 16}``); empty = full fine-tuning.
    peft: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=lambda: ["even_between", "sum_to", "multiple"])
    prior_tasks: list[str] = field(default_factory=lambda: ["copy", "reverse", "add"])
    #: Options per task name, e.g. ``{sum_to: {teacher: hard}}``.
    task_options: dict[str, dict] = field(default_factory=dict)
    #: Share of prompts whose target is the hard rule's (0 = easy, 1 = hard) on tasks with both rules, per
    #: prompt and seed (``llm/teacher_mix.py``); null = each task's own ``teacher`` option.
    teacher_mix: Optional[float] = field(default=None, metadata=ADDED)
    methods: list[str] = _quiet(lambda: ["sft", "grpo", "rft"])
    seeds: list[int] = _quiet(lambda: [0])
    #: Optimizer steps per stage; every method sees ``max_steps * prompts_per_step`` prompts per stage.
    max_steps: int = 60
    prompts_per_step: int = 16
    max_stages: Optional[int] = _quiet(None)
    output_dir: str = _quiet("results/default")
    include_path: list[str] = _quiet(list)
    report_to: list[str] = _quiet(list)
    wandb_project: str = _quiet("forgetbench")
    overwrite: bool = _quiet(False)
    list_tasks: bool = _quiet(False)
    keep_checkpoints: bool = _quiet(False)
    #: What a run computes from the base alone (the row before stage 1, the forward KL's base samples, the
    #: base's spectra) is kept under $FORGETBENCH_CACHE and read by every later run from the same base,
    #: rows and settings (``llm/eval/base_cache.py``); exact.
    cache_base_eval: bool = _quiet(True)
    activation_checkpointing: bool = False
    #: Measure stage k in a forked process while stage k+1 trains: auto, true, false
    #: (``forgetbench.loop.stage_measurer``; auto = one CPU process with one torch thread and a free core).
    overlap_measurement: Any = _quiet("auto")
    #: torch threads per process (null = as launched; ``accelerate launch`` on a CPU gives 1). The
    #: numbers of a run are bit-reproducible on one machine only at a fixed thread count.
    threads: Optional[int] = None
    debug: bool = _quiet(False)
    #: ``local`` runs every (sweep point, seed) run here, one after another; ``ray`` makes each a Ray task.
    launcher: str = _quiet("local")
    ray: RayParams = _quiet(RayParams)
    #: Run only this run of the config: its directory relative to output_dir, e.g. ``sft/lr=0.0003/seed0``.
    only_run: Optional[str] = _quiet(None)
    #: Print everything the libraries print (their bars, per-step log dicts, info messages).
    verbose: bool = _quiet(False)
    #: The ``teacher: expert`` recipe of ``kd`` and ``opd``.
    expert: ExpertParams = field(default_factory=ExpertParams, metadata=ADDED)
    eval: EvalParams = field(default_factory=EvalParams)
    kl: KLParams = field(default_factory=KLParams)
    drift: DriftParams = field(default_factory=DriftParams, metadata=ADDED)
    #: The stage probe (saturation trace, angular step): it only observes training.
    saturation: SaturationParams = _quiet(SaturationParams)
    #: Overrides of the embedded base's recipe (``forgetbench.llm.base_model.recipes.BaseRecipe`` fields).
    base_recipe: dict[str, Any] = field(default_factory=dict)
    #: The recommender's settings (``recsys_sim.config.RecsysConfig`` fields) when ``domain: recsys``.
    recsys: dict[str, Any] = field(default_factory=dict)
    #: Grids over config fields, one run directory per point (see ``forgetbench.config.sweep``).
    sweep: list[dict] = _quiet(list)

    def stage_tasks(self) -> list[str]:
        return self.tasks[: self.max_stages] if self.max_stages else list(self.tasks)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def config_class(include_path: list[str] | tuple[str, ...] = ()) -> type:
    """``Config``: the core fields, then a section per registered method (``include_path``'s included)."""
    from forgetbench.plugins.methods import discover_methods, registered_methods

    methods = discover_methods(include_path) if include_path else registered_methods()
    key = tuple((m.name, m.params) for m in methods.values())
    if key not in _CLASSES:
        core = {f.name for f in dataclasses.fields(CoreConfig)}
        for m in methods.values():
            if m.name in core:
                raise ForgetbenchError(f"method {m.name!r} ({m.source}): the name is a config field; choose another")
        cls = dataclasses.make_dataclass("Config", [(m.name, m.params, field(default_factory=m.params, metadata=(
            ADDED if m.added else {}))) for m in methods.values()], bases=(CoreConfig,))
        cls.__module__ = __name__
        _CLASSES[key] = cls
    return _CLASSES[key]


_CLASSES: dict[tuple, type] = {}


def __getattr__(name: str):
    if name == "Config":  # built when first asked for: the methods register themselves
        return config_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _include_path(data: dict, overrides: dict) -> list[str]:
    value = overrides.get("include_path", data.get("include_path")) or []
    return [value] if isinstance(value, str) else list(value)


def _from_yaml(path: str | Path, cls: type):
    """The config of a YAML file; a bad field is reported with its file and line."""
    with yaml_located(path):
        return build_dataclass(cls, load_yaml(path))


def load_config(argv: list[str]) -> CoreConfig:
    """Resolve the config from the CLI (``--config FILE`` plus overrides) and validate it."""
    path, overrides = parse_cli(argv)
    cls = config_class(_include_path(load_yaml(path) if path else {}, overrides))
    cfg = _from_yaml(path, cls) if path else cls()
    data = cfg.to_dict()
    for dotted, value in overrides.items():
        node, parts = data, dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ForgetbenchError(f"unknown config field {dotted!r}")
            node = node[part]
        node[parts[-1]] = value
    cfg = build_dataclass(cls, data, cli_fields=set(overrides))
    with yaml_located(path, cli_fields=set(overrides)):
        validate(cfg)
    return cfg


def config_from_dict(data: dict) -> CoreConfig:
    """A validated Config from a ``Config.to_dict()``-shaped mapping (e.g. one sweep point)."""
    cfg = build_dataclass(config_class(_include_path(data, {})), data)
    validate(cfg)
    return cfg
