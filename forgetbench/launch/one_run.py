"""One (sweep point, seed) run: build the domain's learner, run its sequence, track it in W&B."""
from __future__ import annotations

import functools
from pathlib import Path

from forgetbench.config.schema import Config, config_from_dict
from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.registry import get_task


def _llm_factory(cfg: Config):
    from forgetbench.llm.learner import LLMLearner
    from forgetbench.llm.base_model.load import resolve_model_path

    for name in cfg.tasks + cfg.prior_tasks:  # unknown names, options and broken plug-ins fail here, early
        get_task(name, **cfg.task_options.get(name, {})).self_check()
    from forgetbench.llm.eval.lm_eval_suite import check

    check(cfg.eval.lm_eval)  # lm-eval installed, task names known (else close matches), before any model loads
    if cfg.gguf_file:
        from forgetbench.llm.base_model.gguf import require_gguf

        require_gguf(f"gguf_file {cfg.gguf_file!r}")
    model_path = resolve_model_path(cfg.model_name_or_path, cfg.base_recipe, cfg.gguf_file)
    from forgetbench.llm.teacher import check_teacher
    from forgetbench.plugins.methods import get_method

    for m in cfg.methods:  # a missing teacher fails here, before any run starts
        if get_method(m).teacher:
            check_teacher(m, getattr(cfg, m).teacher)
    return (lambda method, seed, callbacks, run_dir=None: LLMLearner(cfg, method, seed, model_path, callbacks,
                                                                      run_dir)), model_path


def _recsys_factory(cfg: Config):
    from recsys_sim.learner import METHODS, make_learner

    for m in cfg.methods:
        if m not in METHODS:
            raise ForgetbenchError(f"config: unknown recsys method {m!r}; known: {', '.join(METHODS)}")
    return (lambda method, seed, callbacks, run_dir=None: make_learner(cfg.recsys, method, seed)), "recsys_sim"


def task_versions(cfg: Config) -> dict[str, int]:
    """Each task's ``version``, trained and prior, in config order."""
    return {n: type(get_task(n, **cfg.task_options.get(n, {}))).version for n in cfg.tasks + cfg.prior_tasks}


@functools.lru_cache(maxsize=8)
def _weights_digest(model_path: str) -> str | None:
    """``weights_sha256`` once per process and model (every run of a sweep shares the base)."""
    from forgetbench.llm.base_model.files import weights_sha256

    return weights_sha256(model_path)


def model_header(cfg: Config, model_path: str) -> dict:
    """``model`` (the name given, never this machine's resolved path), ``model_sha256`` (of the weights
    loaded from ``model_path``; None for a hub id) and the ``task_versions``: an LLM run's header."""
    return {"model": cfg.model_name_or_path, "model_sha256": _weights_digest(str(model_path)),
            "task_versions": task_versions(cfg)}


def init_processes():
    """The process group: gloo on CPU (``accelerate launch --multi_gpu --num_processes N`` on a
    CPU-only machine needs ``cpu=True`` here, or every process believes it is alone)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def factory_of(cfg: Config):
    return _llm_factory if cfg.domain == "llm" else _recsys_factory


def run_one(cfg: Config, point, seed: int, out: Path, made=None) -> dict:
    """One (sweep point, seed) run: its sequence, W&B run and heatmap. ``made``: the point's
    (learner factory, model) when the caller has built it already."""
    from accelerate import PartialState

    state = PartialState()
    pcfg = config_from_dict(point.config) if cfg.sweep else cfg
    factory, model = made or factory_of(pcfg)(pcfg)
    from forgetbench.loop.sequence import run_sequence
    from forgetbench.launch.tracking import Tracker

    name = f"{point.family}-{point.label}-seed{seed}" if point.label else None
    tracker = Tracker(pcfg.to_dict(), experiment=cfg.experiment, method=point.method, seed=seed,
                      domain=cfg.domain, model=cfg.model_name_or_path, output_dir=str(out),
                      run_name=name, enabled="wandb" in cfg.report_to and state.is_main_process)
    llm = cfg.domain == "llm"
    header = {**(model_header(pcfg, model) if llm else {"model": model}), "world_size": state.num_processes}
    if llm:
        from forgetbench.llm.learner import run_header

        header.update(run_header(pcfg, model))
    if point.label:
        header.update(family=point.family, label=point.label)
    results = run_sequence(
        pcfg.to_dict(), domain=cfg.domain, method=point.method, seed=seed, tasks=pcfg.stage_tasks(),
        run_dir=point.run_dir(out, seed), overwrite=cfg.overwrite,
        keep_checkpoints=cfg.keep_checkpoints, tracker=tracker, header=header,
        make_learner=lambda: factory(point.method, seed, [tracker.callback()], point.run_dir(out, seed)))
    heatmap = None
    if tracker.enabled:
        from forgetbench.report import plot_heatmap

        heatmap = plot_heatmap(results, point.run_dir(out, seed) / "heatmap.png")
    tracker.finish(results, heatmap)
    return results
