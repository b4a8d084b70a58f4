"""The continual loop: evaluate the base, then for each stage: train -> checkpoint -> evaluate every
task -> drift vs base and previous stage -> KL -> append the stage to ``results.json`` (atomic).

Resumable: a stage counts only once its checkpoint and its ``results.json`` row are both written;
rerunning continues after the last such stage. Only the main process writes.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Callable

import torch
from accelerate import PartialState

from forgetbench.errors import ForgetbenchError
from forgetbench.learner import Learner
from forgetbench.measures.continual import continual_metrics
from forgetbench.measures.drift import drift_report, snapshot
from forgetbench.store import atomic_write_json, read_json

#: Config fields that do not change what a run computes (a rerun may differ in these).
NON_SEMANTIC = ("overwrite", "report_to", "list_tasks", "debug", "max_stages", "output_dir", "seeds",
                "methods", "wandb_project", "keep_checkpoints", "include_path", "eval_only", "sweep")


def fingerprint(config: dict) -> str:
    kept = {k: v for k, v in config.items() if k not in NON_SEMANTIC}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stage_names(tasks: list[str]) -> list[str]:
    """Row names: a task trained again gets ``@k`` (its k-th training)."""
    seen: dict[str, int] = {}
    names = []
    for t in tasks:
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f"{t}@{seen[t]}")
    return names


def prepare_run_dir(run_dir: Path, config: dict, overwrite: bool) -> dict | None:
    """The existing results to resume from, or None. A different config is refused unless overwrite."""
    path = run_dir / "results.json"
    if not path.exists():
        return None
    if overwrite:
        if PartialState().is_main_process:
            shutil.rmtree(run_dir)
        PartialState().wait_for_everyone()
        return None
    old = read_json(path)
    if old.get("fingerprint") != fingerprint(config):
        raise ForgetbenchError(f"{run_dir} holds a run made with a different config; use another "
                               f"output_dir, or pass --overwrite to replace it")
    return old


def _summary_line(r: dict, k: int, total: int) -> str:
    d, kl = r["drift"][k - 1], r["kl"][k - 1]
    dec = r["metrics"]["old_task_decline"][k - 1]
    new = r["accuracy"][k][r["tasks"].index(r["stages"][k].split("@")[0])]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    return (f"[{r['method']} seed{r['seed']}] stage {k}/{total} "
            f"{r['stages'][k]}: new-task acc {new:.3f}  old-task decline {fmt(dec)}  rel. drift "
            f"{fmt(d.get('relative_l2'))}  fwd KL {fmt(kl.get('new_task_forward_kl'))}  "
            f"{sum(r['timing'][k - 1].values()):.1f}s")


def run_sequence(config: dict, *, domain: str, method: str, seed: int, tasks: list[str], run_dir: Path,
                 make_learner: Callable[[], Learner], overwrite: bool = False, keep_checkpoints: bool = False,
                 tracker=None, header: dict | None = None) -> dict:
    """Run (or resume) one (method, seed) sequence over ``tasks``; return the results dict."""
    state = PartialState()
    results = prepare_run_dir(run_dir, config, overwrite)
    learner = make_learner()
    names = stage_names(tasks)
    ckpt_dir = run_dir / "checkpoints"
    if results is None:
        t0 = time.time()
        base_acc = learner.evaluate()
        results = {"experiment": config.get("experiment"), "domain": domain, "method": method, "seed": seed,
                   "config": config, "fingerprint": fingerprint(config), **(header or {}),
                   "stages": ["base"], "tasks": learner.eval_names(),
                   "accuracy": [[base_acc[t] for t in learner.eval_names()]], "metrics": {},
                   "drift": [], "kl": [], "timing": [], "train_stats": [], "extras": [],
                   "base_eval_seconds": round(time.time() - t0, 2)}
        _write(results, run_dir)
        if tracker is not None:
            tracker.log_stage(0, "base", {"accuracy": dict(zip(results["tasks"], results["accuracy"][0]))})
    done = len(results["stages"]) - 1
    if done >= len(tasks):
        return results
    if done > 0:
        learner.load(ckpt_dir / f"stage{done}")
    prev = snapshot(learner.parameters())
    cols = results["tasks"]
    planned = stage_names(config.get("tasks") or tasks)  # max_stages does not change what is old
    for k in range(done + 1, len(tasks) + 1):
        task = tasks[k - 1]
        t0 = time.time()
        stats = learner.train_stage(task, k)
        t_train = time.time() - t0
        _check_finite(learner, f"{method} seed {seed} stage {k} ({task})", run_dir)
        path = ckpt_dir / f"stage{k}"
        if state.is_main_process:
            shutil.rmtree(path, ignore_errors=True)
            tmp = ckpt_dir / f".stage{k}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                learner.save(tmp)
                tmp.rename(path)
            except OSError as e:
                raise ForgetbenchError(f"cannot write the checkpoint {path}: {e.strerror or e} (finished "
                                       f"stages are kept in {run_dir / 'results.json'})") from e
        state.wait_for_everyone()
        getattr(learner, "mark_saved", lambda p: None)(path)
        t0 = time.time()
        acc = learner.evaluate()
        t_eval = time.time() - t0
        t0 = time.time()
        drift = drift_report(learner.base_parameters(), learner.parameters(), prev)
        old = [c for c in cols if c != task and (c not in tasks or c in tasks[:k - 1])]
        kl = learner.divergences(task, old)
        extras = learner.extras(task)
        t_measure = time.time() - t0
        prev = snapshot(learner.parameters())
        results["stages"].append(names[k - 1])
        results["accuracy"].append([acc[c] for c in cols])
        results["drift"].append(drift)
        results["kl"].append(kl)
        results["train_stats"].append(stats)
        results["extras"].append(extras)
        if isinstance(extras, dict) and "defects" in extras:   # recsys: one defects dict per stage
            results.setdefault("defects", [e.get("defects") if isinstance(e, dict) else None
                                           for e in results["extras"][:-1]]).append(extras["defects"])
        results["timing"].append({"train": round(t_train, 2), "eval": round(t_eval, 2),
                                  "measure": round(t_measure, 2)})
        results["metrics"] = continual_metrics(results["accuracy"], results["stages"], cols, planned=planned)
        _write(results, run_dir)
        if state.is_main_process and not keep_checkpoints and k > 1:
            shutil.rmtree(ckpt_dir / f"stage{k - 1}", ignore_errors=True)
        if state.is_main_process:
            print(_summary_line(results, k, len(tasks)), flush=True)
        if tracker is not None:
            tracker.log_stage(k, names[k - 1], _stage_row(results, k))
    return results


def _check_finite(learner: Learner, where: str, run_dir: Path) -> None:
    """A stage whose weights hold NaN/inf (a diverged loss) is discarded before it is saved."""
    bad = next((n for n, p in learner.parameters().items() if not torch.isfinite(p).all()), None)
    if bad is not None:
        raise ForgetbenchError(f"{where}: training diverged (NaN/inf loss; weight {bad!r} is not finite); "
                               f"the stage is discarded, earlier stages are kept in {run_dir / 'results.json'} "
                               f"— lower the learning rate")


def _stage_row(r: dict, k: int) -> dict:
    m = r["metrics"]
    new = r["accuracy"][k][r["tasks"].index(r["stages"][k].split("@")[0])]
    return {"new_task_accuracy": new, "old_task_decline": m["old_task_decline"][k - 1],
            "new_task_gain": m["new_task_gain"][k - 1], "drift": r["drift"][k - 1], "kl": r["kl"][k - 1],
            "accuracy": dict(zip(r["tasks"], r["accuracy"][k]))}


def _write(results: dict, run_dir: Path) -> None:
    if PartialState().is_main_process:
        results["complete"] = len(results["stages"]) - 1 >= len(results["config"]["tasks"][
            : results["config"].get("max_stages") or None])
        atomic_write_json(run_dir / "results.json", results)
    PartialState().wait_for_everyone()
