"""Checks of a parsed run config: every field in range, every method and section known; one
``ForgetbenchError`` naming the field (``config: …``) on the first problem."""
from __future__ import annotations

from forgetbench.errors import ForgetbenchError


def validate(cfg) -> None:
    def fail(msg):
        raise ForgetbenchError(f"config: {msg}")
    if cfg.domain not in ("llm", "recsys"):
        fail(f"domain must be 'llm' or 'recsys', got {cfg.domain!r}")
    if not cfg.list_tasks and not cfg.tasks:
        fail("tasks is empty: give at least one task to train (e.g. --tasks sum_to)")
    if not cfg.methods:
        fail("methods is empty (e.g. --methods sft grpo)")
    if cfg.domain == "llm":
        _validate_methods(cfg, fail)
    if not cfg.seeds or any(s < 0 for s in cfg.seeds) or len(set(cfg.seeds)) != len(cfg.seeds):
        fail(f"seeds must be a non-empty list of distinct non-negative integers, got {cfg.seeds}")
    for name in ("max_steps", "prompts_per_step"):
        if getattr(cfg, name) <= 0:
            fail(f"{name} must be a positive integer, got {getattr(cfg, name)}")
    if cfg.max_stages is not None and cfg.max_stages < 1:
        fail(f"max_stages must be >= 1 or null, got {cfg.max_stages}")
    if cfg.teacher_mix is not None and not 0 <= cfg.teacher_mix <= 1:
        fail(f"teacher_mix must be in [0, 1] or null, got {cfg.teacher_mix}")
    if cfg.expert.max_steps is not None and cfg.expert.max_steps < 1:
        fail(f"expert.max_steps must be >= 1 or null, got {cfg.expert.max_steps}")
    if cfg.drift.svd_matrices is not None and cfg.drift.svd_matrices < 1:
        fail(f"drift.svd_matrices must be >= 1 or null, got {cfg.drift.svd_matrices}")
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
    _validate_domain_sections(cfg)
    from forgetbench.config.task_options import prune_task_options

    prune_task_options(cfg, fail)


def _validate_methods(cfg, fail) -> None:
    """Every method named is registered; every section passes its own checks."""
    from forgetbench.plugins.methods import get_method, registered_methods

    for name in cfg.methods:
        try:
            get_method(name)
        except ForgetbenchError as e:
            fail(str(e))
    for name, method in registered_methods().items():
        if (params := getattr(cfg, name, None)) is None:
            continue
        params.check(name, fail)
        if method.teacher and not params.teacher:
            fail(f"{name}.teacher is empty: give 'expert' or a model path")


def _validate_domain_sections(cfg) -> None:
    """``recsys`` and ``base_recipe`` parsed by their domain's own dataclass (imported by name: the config
    layer never imports a domain); their values stay as given (the fingerprint reads them)."""
    import importlib

    if cfg.domain == "recsys":
        importlib.import_module("recsys_sim.config").RecsysConfig.from_dict(cfg.recsys)
    if cfg.base_recipe:
        importlib.import_module("forgetbench.llm.base_model.recipes").BaseRecipe().with_overrides(cfg.base_recipe)


def _validate_lm_eval(cfg, fail) -> None:
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
