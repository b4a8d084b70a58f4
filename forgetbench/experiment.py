"""One experiment: every (method, seed) sequence of a resolved config, then the report."""
from __future__ import annotations

import time
from pathlib import Path

from forgetbench.config import Config, config_from_dict, load_config
from forgetbench.errors import ForgetbenchError
from forgetbench.registry import describe_tasks, discover, get_task


def _check_writable(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write_probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise ForgetbenchError(f"output_dir {str(output_dir)!r} cannot be written: {e.strerror}") from None


def _llm_factory(cfg: Config):
    from forgetbench.llm.learner import LLMLearner
    from forgetbench.llm.models import resolve_model_path

    for name in cfg.tasks + cfg.prior_tasks:  # unknown names, options and broken plug-ins fail here, early
        get_task(name, **cfg.task_options.get(name, {})).self_check()
    from forgetbench.llm.lm_eval_suite import check

    check(cfg.eval.lm_eval)  # lm-eval installed, task names known (else close matches), before any model loads
    if cfg.gguf_file:
        from forgetbench.llm.gguf_cache import require_gguf

        require_gguf(f"gguf_file {cfg.gguf_file!r}")
    model_path = resolve_model_path(cfg.model_name_or_path, cfg.base_recipe, cfg.gguf_file)
    from forgetbench.config_methods import TEACHER_METHODS
    from forgetbench.llm.methods.teacher import check_teacher

    for m in set(cfg.methods) & set(TEACHER_METHODS):  # a missing teacher fails here, before any run starts
        check_teacher(m, getattr(cfg, m).teacher)
    return (lambda method, seed, callbacks, run_dir=None: LLMLearner(cfg, method, seed, model_path, callbacks,
                                                                      run_dir)), model_path


def _recsys_factory(cfg: Config):
    from recsys_sim.learner import METHODS, make_learner

    for m in cfg.methods:
        if m not in METHODS:
            raise ForgetbenchError(f"config: unknown recsys method {m!r}; known: {', '.join(METHODS)}")
    return (lambda method, seed, callbacks, run_dir=None: make_learner(cfg.recsys, method, seed)), "recsys_sim"


def init_processes() -> PartialState:
    """The process group: gloo on CPU (``accelerate launch --multi_gpu --num_processes N`` on a
    CPU-only machine needs ``cpu=True`` here, or every process believes it is alone)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def factory_of(cfg: Config):
    return _llm_factory if cfg.domain == "llm" else _recsys_factory


def selected(points: list, cfg: Config) -> list:
    """The sweep points ``only_run`` (a run directory relative to output_dir) selects; all without it."""
    if not cfg.only_run:
        return points
    names = {p.run_name(s): (p, s) for p in points for s in cfg.seeds}
    if cfg.only_run.strip("/") not in names:
        raise ForgetbenchError(f"only_run {cfg.only_run!r} is no run of this config; runs: {', '.join(list(names)[:8])}"
                               f"{' …' if len(names) > 8 else ''}")
    point, seed = names[cfg.only_run.strip("/")]
    cfg.seeds = [seed]
    return [point]


def run_one(cfg: Config, point, seed: int, out: Path, made=None) -> dict:
    """One (sweep point, seed) run: its sequence, W&B run and heatmap. ``made``: the point's
    (learner factory, model) when the caller has built it already."""
    from accelerate import PartialState

    state = PartialState()
    pcfg = config_from_dict(point.config) if cfg.sweep else cfg
    factory, model = made or factory_of(pcfg)(pcfg)
    from forgetbench.sequence import run_sequence
    from forgetbench.tracking import Tracker

    name = f"{point.family}-{point.label}-seed{seed}" if point.label else None
    tracker = Tracker(pcfg.to_dict(), experiment=cfg.experiment, method=point.method, seed=seed,
                      domain=cfg.domain, model=cfg.model_name_or_path, output_dir=str(out),
                      run_name=name, enabled="wandb" in cfg.report_to and state.is_main_process)
    header = {"model": model, "world_size": state.num_processes}
    if cfg.domain == "llm":
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
        from forgetbench.report.plots import plot_heatmap

        heatmap = plot_heatmap(results, point.run_dir(out, seed) / "heatmap.png")
    tracker.finish(results, heatmap)
    return results


def run_experiment(argv: list[str]) -> int:
    cfg = load_config(argv)
    if cfg.launcher == "ray" and not cfg.list_tasks:   # Ray starts and its workers import the run code while this process does
        from forgetbench.launch_ray import start

        start(cfg)
    from accelerate import PartialState

    from forgetbench import console

    console.configure(cfg.verbose)
    if cfg.threads is not None:
        import torch

        if cfg.threads < 1:
            raise ForgetbenchError(f"config: threads must be a positive number of torch threads, got {cfg.threads}")
        torch.set_num_threads(cfg.threads)
    init_processes()
    discover(cfg.include_path)
    if cfg.list_tasks:
        print("\n".join(describe_tasks()))
        return 0
    state = PartialState()
    out = Path(cfg.output_dir)
    if state.is_main_process:
        _check_writable(out)
    make = factory_of(cfg)
    first = make(cfg)  # unknown tasks, options and models fail here, before any run starts
    from forgetbench.sweep import expand

    if cfg.launcher == "ray":
        from forgetbench.launch_ray import resolve_threads

        resolve_threads(cfg)
    points = selected(expand(cfg.to_dict()), cfg)
    if state.is_main_process:
        sweep = f" sweep_points={len(points)}" if cfg.sweep else ""
        print(f"forgetbench: experiment={cfg.experiment} domain={cfg.domain} model={cfg.model_name_or_path} "
              f"tasks={cfg.stage_tasks()} prior_tasks={cfg.prior_tasks} methods={cfg.methods} "
              f"seeds={cfg.seeds}{sweep} output_dir={out} world_size={state.num_processes}"
              f"{' launcher=ray' if cfg.launcher == 'ray' else ''}", flush=True)
    failures: list[str] = []
    total = len(points) * len(cfg.seeds)
    if cfg.launcher == "ray":
        from forgetbench.launch_ray import run_on_ray

        failures = run_on_ray(cfg, points, out)
    else:
        done, started = 0, time.monotonic()
        for i, point in enumerate(points, 1):
            made = make(config_from_dict(point.config)) if cfg.sweep else first
            for seed in cfg.seeds:
                if state.is_main_process and total > 1:
                    where = f"sweep point {i}/{len(points)} {point.family}/{point.label}, " if point.label else ""
                    print(f"forgetbench: {where}run {done + 1}/{total} ({point.method}, seed {seed})"
                          f"{console.eta(done, total, time.monotonic() - started)}", flush=True)
                run_one(cfg, point, seed, out, made)
                done += 1
    if state.is_main_process and len(failures) < total:
        from forgetbench.report import write_report

        path = write_report(out)
        print(f"forgetbench: report -> {path}", flush=True)
    if failures:
        raise ForgetbenchError(f"{len(failures)} of {total} runs failed (the others are "
                               f"complete and in the report): " + "; ".join(failures))
    return 0
