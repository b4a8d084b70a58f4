"""One experiment: every (method, seed) sequence of a resolved config, then the report."""
from __future__ import annotations

import time
from pathlib import Path

from forgetbench.config.schema import Config, config_from_dict, load_config
from forgetbench.errors import ForgetbenchError
from forgetbench.launch.one_run import factory_of, init_processes, run_one
from forgetbench.plugins.registry import describe_tasks, discover


def _check_writable(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        probe = output_dir / ".write_probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise ForgetbenchError(f"output_dir {str(output_dir)!r} cannot be written: {e.strerror}") from None


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


def run_experiment(argv: list[str]) -> int:
    cfg = load_config(argv)
    if cfg.launcher == "ray" and not cfg.list_tasks:   # Ray starts and its workers import the run code while this process does
        from forgetbench.launch.on_ray import start

        start(cfg)
    from accelerate import PartialState

    from forgetbench.loop import console

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
    from forgetbench.config.sweep import expand

    if cfg.launcher == "ray":
        from forgetbench.launch.on_ray import resolve_threads

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
        from forgetbench.launch.on_ray import run_on_ray

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
