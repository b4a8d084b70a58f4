"""``launcher: ray``: every (sweep point, seed) run is a Ray task with declared resources.

``ray.address`` (or ``RAY_ADDRESS``) joins an existing cluster, else a local instance sized to this
machine starts, first of all, and every worker starts importing the run code while the driver
checks the config. Runs are submitted largest first (``run_size``). A task runs its run in its worker process with torch threads = ``ray.num_cpus`` (no
overlapped measurement process: the run uses what it declared); a run asking for several GPUs
starts ``accelerate launch … --only_run <its run>`` inside its task. A failed run is reported by name
with its error and does not stop the others; the driver prints runs done / total with an ETA, Ray
prefixes each run's own lines with its name, and the report is written once, at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from forgetbench.errors import ForgetbenchError

INSTALL = "pip install -e '.[ray]'"


def require_ray():
    """Import Ray with the log settings a sweep needs. ``RAY_DEDUP_LOGS`` is read when Ray is
    imported, so it is set before: otherwise two runs' similar stage lines are merged into one
    ``[repeated 2x across cluster]`` line (with colour codes) and a run's own line is lost."""
    from forgetbench.loop import console

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")        # every run's own stage lines, each with its name
    if not console.bars_enabled():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # no colour codes in logs
    try:
        import ray
    except ImportError:
        raise ForgetbenchError(f"launcher: ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def resolve_threads(cfg) -> None:
    """Under Ray a run's torch threads are its CPUs; a different explicit ``threads`` is an error."""
    cpus = int(cfg.ray.num_cpus)
    if cfg.threads is not None and cfg.threads != cpus:
        raise ForgetbenchError(f"config: threads {cfg.threads} and ray.num_cpus {cfg.ray.num_cpus} differ; under "
                               f"launcher: ray a run's torch threads are its CPUs (set one of them)")
    cfg.threads = cpus
    cfg.overlap_measurement = "false"


def accelerate_command(config_file: Path, name: str, seed: int, num_processes: int) -> list[str]:
    """The command a several-GPU run's task starts (the config file holds the whole resolved config)."""
    run_py = Path(__file__).resolve().parents[1] / "run.py"
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
            str(num_processes), str(run_py), "--config", str(config_file), "--launcher", "local",
            "--only_run", name, "--seeds", str(seed)]


def _run_in_worker(cfg_dict: dict, point, seed: int, out: str) -> dict:
    """Body of one Ray task: the run, or its error as text (never raises)."""
    name = point.run_name(seed)
    try:
        import torch

        from forgetbench.loop import console
        from forgetbench.config.schema import config_from_dict
        from forgetbench.launch.one_run import init_processes, run_one
        from forgetbench.plugins.registry import discover

        cfg = config_from_dict(cfg_dict)
        if cfg.ray.num_gpus > 1:
            import yaml

            path = Path(out) / ".ray" / f"{name.replace('/', '__')}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({**cfg_dict, "launcher": "local"}))
            p = subprocess.run(accelerate_command(path, name, seed, int(cfg.ray.num_gpus)), text=True,
                               capture_output=True)
            print(p.stdout, end="", flush=True)
            if p.returncode:
                tail = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
                return {"name": name, "error": f"accelerate launch exited {p.returncode}: {tail}"}
            return {"name": name, "error": None}
        console.configure(cfg.verbose)
        torch.set_num_threads(cfg.threads)
        init_processes()
        discover(cfg.include_path)
        run_one(cfg, point, seed, Path(out))
        return {"name": name, "error": None}
    except ForgetbenchError as e:
        return {"name": name, "error": str(e)}
    except Exception as e:  # noqa: BLE001 - a run's failure must not stop the others
        return {"name": name, "error": f"{type(e).__name__}: {e}"}


def run_size(point) -> float:
    """A run's size, to start the longest runs first: training steps (LLM) or interactions (recsys)
    per stage x stages. Two workers that finish a sweep's short runs last leave no core idle at the end."""
    c = point.config
    per_stage = (c.get("recsys") or {}).get("interactions_per_stage") if c.get("domain") == "recsys" else c.get("max_steps")
    return float(per_stage or 0) * len(c.get("tasks") or [None])


def _warm(domain: str) -> None:
    """Import what a run needs (torch, transformers, TRL: seconds), so the first runs need not wait."""
    import forgetbench.launch.one_run  # noqa: F401
    import forgetbench.loop.sequence  # noqa: F401
    if domain == "llm":
        import forgetbench.llm.learner  # noqa: F401
    else:
        import recsys_sim.learner  # noqa: F401


def start(cfg) -> None:
    """Start (or join) Ray and have every worker import the run code now, while the driver still
    imports its own and checks the config (both take seconds; started first, they overlap)."""
    ray = require_ray()
    _init(ray, cfg)
    slots = int(ray.cluster_resources().get("CPU", 1) // max(float(cfg.ray.num_cpus), 1e-6))
    warm = ray.remote(_warm).options(num_cpus=cfg.ray.num_cpus, max_retries=0)
    _warming.extend(warm.remote(cfg.domain) for _ in range(max(1, min(slots, 64))))


_warming: list = []   # the warm-up tasks' references (fire and forget)


def _init(ray, cfg) -> None:
    if ray.is_initialized():
        return
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local instance for one user
    kwargs = dict(include_dashboard=False, log_to_driver=True, logging_level="WARNING")
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=os.cpu_count(), **kwargs)


def run_on_ray(cfg, points: list, out: Path) -> list[str]:
    """Run every (point, seed) as a Ray task; return ``"name: error"`` for each failed run."""
    from forgetbench.loop import console

    ray = require_ray()
    _init(ray, cfg)
    remote = ray.remote(_run_in_worker)
    cfg_dict = cfg.to_dict()   # workers may start elsewhere: paths they read are made absolute
    cfg_dict["include_path"] = [os.path.abspath(p) for p in cfg.include_path]
    out = Path(out).resolve()
    pending = [remote.options(name=point.run_name(seed), num_cpus=cfg.ray.num_cpus, num_gpus=cfg.ray.num_gpus,
                              max_retries=0).remote(cfg_dict, point, seed, str(out))
               for point in sorted(points, key=run_size, reverse=True) for seed in cfg.seeds]
    total, done, failures, started = len(pending), 0, [], time.monotonic()
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            result = ray.get(ref)
            done += 1
            if result["error"]:
                failures.append(f"{result['name']}: {result['error']}")
            status = "FAILED" if result["error"] else "done"
            print(f"forgetbench: run {done}/{total} {status}: {result['name']}"
                  f"{console.eta(done, total, time.monotonic() - started)}", flush=True)
    return failures
