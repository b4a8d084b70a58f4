"""Run configuration: YAML file + CLI overrides in TRL's style, parsed into dataclasses, validated.

``--config FILE`` then ``--field value`` (lists space-separated: ``--seeds 0 1 2``; sections with a
dot: ``--grpo.learning_rate 5e-5``; a bare ``--overwrite`` means true). Every error names the field.
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from forgetbench.config.methods import (SPECTRUM_METHODS, DPOParams, ExpertParams, KDParams, OnlineDPOParams,
                                        OPDParams, RLOOParams, SDFTParams, validate_spectrum)
from forgetbench.config.parse import build_dataclass, load_yaml, parse_cli, yaml_line
from forgetbench.errors import ForgetbenchError

LLM_METHODS = ("sft", "grpo", "rft") + SPECTRUM_METHODS


@dataclass
class SFTParams:
    learning_rate: float = 3e-4
    #: Fraction of prompts whose teacher target is replaced by the model's own correct sample
    #: (0 = pure SFT on the teacher, 1 = on-policy SFT): the dial between off- and on-policy data.
    on_policy_fraction: float = 0.0
    samples_per_prompt: int = 4


@dataclass
class GRPOParams:
    learning_rate: float = 1e-4
    beta: float = 0.0
    num_generations: int = 8
    temperature: float = 1.0
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    #: Further ``trl.GRPOConfig`` fields passed as they are, e.g. ``{vllm_gpu_memory_utilization: 0.3}``.
    trl_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class RFTParams:
    learning_rate: float = 3e-4
    samples_per_prompt: int = 4


@dataclass
class LMEvalParams:
    """lm-evaluation-harness tasks run after the base and every stage (``forgetbench.llm.eval.lm_eval_suite``)."""
    #: lm-eval task or group names; each is a column ``lm_eval/<task>``, a prior skill. Empty = off.
    tasks: list[str] = field(default_factory=list)
    #: Few-shot examples (null = each task's own default, 0 when it has none).
    num_fewshot: Optional[int] = None
    #: Documents per task: a count, or a fraction when < 1 (null = all).
    limit: Optional[float] = None
    batch_size: int = 32
    #: Folders of your own lm-eval task YAMLs (the shipped forgetbench/lm_eval_tasks is always included).
    include_path: list[str] = field(default_factory=list)
    #: hf (the model in memory) or vllm (lm-eval's vLLM model on each stage's checkpoint; GPU).
    backend: str = "hf"
    #: Further arguments of lm-eval's model class, e.g. ``{gpu_memory_utilization: 0.3}`` for vllm.
    model_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalParams:
    sampled: bool = False
    n_samples: int = 4
    batch_size: int = 256
    #: Samples per new-task eval prompt for answer diversity after each stage (0 = off).
    diversity_samples: int = 0
    lm_eval: LMEvalParams = field(default_factory=LMEvalParams)


@dataclass
class KLParams:
    n_prompts: int = 32
    n_samples: int = 2
    batch_size: int = 64


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
class Config:
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
    tasks: list[str] = field(default_factory=lambda: ["sum_to", "even_between", "multiple"])
    prior_tasks: list[str] = field(default_factory=lambda: ["copy", "reverse", "add"])
    #: Options per task name, e.g. ``{sum_to: {teacher: hard}}``.
    task_options: dict[str, dict] = field(default_factory=dict)
    methods: list[str] = field(default_factory=lambda: ["sft", "grpo", "rft"])
    seeds: list[int] = field(default_factory=lambda: [0])
    #: Optimizer steps per stage; every method sees ``max_steps * prompts_per_step`` prompts per stage.
    max_steps: int = 100
    prompts_per_step: int = 32
    max_stages: Optional[int] = None
    output_dir: str = "results/default"
    include_path: list[str] = field(default_factory=list)
    report_to: list[str] = field(default_factory=list)
    wandb_project: str = "forgetbench"
    overwrite: bool = False
    list_tasks: bool = False
    keep_checkpoints: bool = False
    activation_checkpointing: bool = False
    #: Measure stage k in a forked process while stage k+1 trains: auto, true, false
    #: (``forgetbench.loop.stage_measurer``; auto = one CPU process with one torch thread and a free core).
    overlap_measurement: Any = "auto"
    #: torch threads per process (null = as launched; ``accelerate launch`` on a CPU gives 1). The
    #: numbers of a run are bit-reproducible on one machine only at a fixed thread count.
    threads: Optional[int] = None
    debug: bool = False
    #: ``local`` runs every (sweep point, seed) run here, one after another; ``ray`` makes each a Ray task.
    launcher: str = "local"
    ray: RayParams = field(default_factory=RayParams)
    #: Run only this run of the config: its directory relative to output_dir, e.g. ``sft/lr=0.0003/seed0``.
    only_run: Optional[str] = None
    #: Print everything the libraries print (their bars, per-step log dicts, info messages).
    verbose: bool = False
    sft: SFTParams = field(default_factory=SFTParams)
    grpo: GRPOParams = field(default_factory=GRPOParams)
    rft: RFTParams = field(default_factory=RFTParams)
    rloo: RLOOParams = field(default_factory=RLOOParams)
    dpo: DPOParams = field(default_factory=DPOParams)
    online_dpo: OnlineDPOParams = field(default_factory=OnlineDPOParams)
    kd: KDParams = field(default_factory=KDParams)
    opd: OPDParams = field(default_factory=OPDParams)
    #: The ``teacher: expert`` recipe of ``kd`` and ``opd``.
    expert: ExpertParams = field(default_factory=ExpertParams)
    sdft: SDFTParams = field(default_factory=SDFTParams)
    eval: EvalParams = field(default_factory=EvalParams)
    kl: KLParams = field(default_factory=KLParams)
    saturation: SaturationParams = field(default_factory=SaturationParams)
    #: Overrides of the embedded base's recipe (``forgetbench.llm.base_model.recipes.BaseRecipe`` fields).
    base_recipe: dict[str, Any] = field(default_factory=dict)
    #: The recommender's settings (``recsys_sim.config.RecsysConfig`` fields) when ``domain: recsys``.
    recsys: dict[str, Any] = field(default_factory=dict)
    #: Grids over config fields, one run directory per point (see ``forgetbench.config.sweep``).
    sweep: list[dict] = field(default_factory=list)

    def stage_tasks(self) -> list[str]:
        return self.tasks[: self.max_stages] if self.max_stages else list(self.tasks)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _from_yaml(path: str | Path) -> Config:
    """The config of a YAML file; a bad field is reported with its file and line."""
    try:
        return build_dataclass(Config, load_yaml(path))
    except ForgetbenchError as e:
        if getattr(e, "field", None) is None:
            raise
        line = yaml_line(path, e.field)
        raise ForgetbenchError(f"config file {str(path)!r}:{f' line {line}:' if line else ''} {e}") from None


def load_config(argv: list[str]) -> Config:
    """Resolve the config from the CLI (``--config FILE`` plus overrides) and validate it."""
    path, overrides = parse_cli(argv)
    cfg = _from_yaml(path) if path else Config()
    data = cfg.to_dict()
    for dotted, value in overrides.items():
        node, parts = data, dotted.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise ForgetbenchError(f"unknown config field {dotted!r}")
            node = node[part]
        node[parts[-1]] = value
    cfg = build_dataclass(Config, data, cli_fields=set(overrides))
    validate(cfg)
    return cfg


def config_from_dict(data: dict) -> Config:
    """A validated Config from a ``Config.to_dict()``-shaped mapping (e.g. one sweep point)."""
    cfg = build_dataclass(Config, data)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    def fail(msg):
        raise ForgetbenchError(f"config: {msg}")
    if cfg.domain not in ("llm", "recsys"):
        fail(f"domain must be 'llm' or 'recsys', got {cfg.domain!r}")
    if not cfg.list_tasks and not cfg.tasks:
        fail("tasks is empty: give at least one task to train (e.g. --tasks sum_to)")
    if not cfg.methods:
        fail("methods is empty (e.g. --methods sft grpo)")
    if cfg.domain == "llm":
        for m in cfg.methods:
            if m not in LLM_METHODS:
                close = difflib.get_close_matches(m, LLM_METHODS, n=1)
                fail(f"unknown method {m!r}{f' (did you mean {close[0]}?)' if close else ''}; "
                     f"known: {', '.join(LLM_METHODS)}")
    if not cfg.seeds or any(s < 0 for s in cfg.seeds) or len(set(cfg.seeds)) != len(cfg.seeds):
        fail(f"seeds must be a non-empty list of distinct non-negative integers, got {cfg.seeds}")
    for name in ("max_steps", "prompts_per_step"):
        if getattr(cfg, name) <= 0:
            fail(f"{name} must be a positive integer, got {getattr(cfg, name)}")
    if cfg.max_stages is not None and cfg.max_stages < 1:
        fail(f"max_stages must be >= 1 or null, got {cfg.max_stages}")
    if not 0.0 <= cfg.sft.on_policy_fraction <= 1.0:
        fail(f"sft.on_policy_fraction must be in [0, 1], got {cfg.sft.on_policy_fraction}")
    if cfg.grpo.num_generations < 2:
        fail(f"grpo.num_generations must be >= 2 (group-relative advantages), got {cfg.grpo.num_generations}")
    if cfg.grpo.beta < 0:
        fail(f"grpo.beta must be >= 0, got {cfg.grpo.beta}")
    validate_spectrum(cfg, fail)
    if cfg.dtype not in ("auto", "float32", "bfloat16", "float16"):
        fail(f"dtype must be auto, float32, bfloat16 or float16, got {cfg.dtype!r}")
    for name in ("chat_template", "overlap_measurement"):
        if str(getattr(cfg, name)).lower() not in ("auto", "true", "false"):
            fail(f"{name} must be auto, true or false, got {getattr(cfg, name)!r}")
    if cfg.launcher not in ("local", "ray"):
        fail(f"launcher must be local or ray, got {cfg.launcher!r}")
    if cfg.ray.num_cpus < 1 or cfg.ray.num_gpus < 0:
        fail(f"ray.num_cpus must be >= 1 and ray.num_gpus >= 0, got {cfg.ray.num_cpus} and {cfg.ray.num_gpus}")
    for r in cfg.report_to:
        if r not in ("wandb", "none"):
            fail(f"report_to: unknown tracker {r!r}; known: wandb, none")
    _validate_lm_eval(cfg, fail)
    from forgetbench.config.task_options import prune_task_options

    prune_task_options(cfg, fail)


def _validate_lm_eval(cfg: Config, fail) -> None:
    p = cfg.eval.lm_eval
    if p.tasks and cfg.domain != "llm":
        fail("eval.lm_eval.tasks needs domain: llm")
    if len(set(p.tasks)) != len(p.tasks):
        fail(f"eval.lm_eval.tasks names a task twice: {p.tasks}")
    if p.backend not in ("hf", "vllm"):
        fail(f"eval.lm_eval.backend must be hf or vllm, got {p.backend!r}")
    if p.batch_size < 1 or (p.num_fewshot is not None and p.num_fewshot < 0) or (p.limit is not None and p.limit <= 0):
        fail(f"eval.lm_eval: batch_size must be >= 1, num_fewshot >= 0 or null, limit > 0 or null; got "
             f"{p.batch_size}, {p.num_fewshot}, {p.limit}")
