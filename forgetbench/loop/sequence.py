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

from forgetbench.config.fingerprint import fingerprint
from forgetbench.errors import ForgetbenchError
from forgetbench.loop.learner import Learner
from forgetbench.measures.continual import continual_metrics
from forgetbench.measures.per_example import example_events
from forgetbench.loop.stage_measurer import open_measurer
from forgetbench.loop.store import atomic_write_json, read_json

#: Written into each stage checkpoint: the stage's training stats, for a resume that only measures it.
TRAIN_STATS = "train_stats.json"


def run_fingerprint(config: dict, task_versions: dict[str, int] | None = None) -> str:
    """The config's ``fingerprint``; with tasks at a version other than 1 (the default), a hash of it and
    those versions. Runs stored before tasks had versions (all at 1) keep their fingerprint and resume."""
    bumped = {n: v for n, v in sorted((task_versions or {}).items()) if v != 1}
    if not bumped:
        return fingerprint(config)
    blob = json.dumps({"config": fingerprint(config), "task_versions": bumped}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _refusal(run_dir: Path, config: dict, old: dict, task_versions: dict[str, int] | None) -> str:
    """Why a stored run is not resumed: a changed task version (named), else a changed config."""
    fix = "use another output_dir, or pass --overwrite to replace it"
    if old.get("fingerprint") == run_fingerprint(config, old.get("task_versions")):
        was = old.get("task_versions") or {}
        changed = [f"{n!r} {was.get(n, 1)} -> {v}" for n, v in sorted((task_versions or {}).items())
                   if was.get(n, 1) != v]
        return f"{run_dir} holds a run made with other task versions ({', '.join(changed)}); {fix}"
    return f"{run_dir} holds a run made with a different config; {fix}"


def stage_names(tasks: list[str]) -> list[str]:
    """Row names: a task trained again gets ``@k`` (its k-th training)."""
    seen: dict[str, int] = {}
    names = []
    for t in tasks:
        seen[t] = seen.get(t, 0) + 1
        names.append(t if seen[t] == 1 else f"{t}@{seen[t]}")
    return names


def prepare_run_dir(run_dir: Path, config: dict, overwrite: bool,
                    task_versions: dict[str, int] | None = None) -> dict | None:
    """The existing results to resume from, or None. A different config or task version is refused
    unless overwrite."""
    path = run_dir / "results.json"
    if not path.exists():
        return None
    if overwrite:
        if PartialState().is_main_process:
            shutil.rmtree(run_dir)
        PartialState().wait_for_everyone()
        return None
    old = read_json(path)
    if old.get("fingerprint") != run_fingerprint(config, task_versions):
        raise ForgetbenchError(_refusal(run_dir, config, old, task_versions))
    return old


def sig2(v: float | None) -> str:
    """Two significant digits in scientific notation (``2.3e-04``): a real model's drift is ~1e-4."""
    return "n/a" if v is None else f"{v:.1e}"


def summary_line(r: dict, k: int, total: int) -> str:
    d, kl = r["drift"][k - 1], r["kl"][k - 1]
    dec = r["metrics"]["old_task_decline"][k - 1]
    new = r["accuracy"][k][r["tasks"].index(r["stages"][k].split("@")[0])]
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    return (f"[{r['method']} seed{r['seed']}] stage {k}/{total} "
            f"{r['stages'][k]}: new-task acc {new:.3f}  old-task decline {fmt(dec)}  rel. drift "
            f"{sig2(d.get('relative_l2'))}  fwd KL {fmt(kl.get('new_task_forward_kl'))}  "
            f"{sum(r['timing'][k - 1].values()):.1f}s")


def run_sequence(config: dict, *, domain: str, method: str, seed: int, tasks: list[str], run_dir: Path,
                 make_learner: Callable[[], Learner], overwrite: bool = False, keep_checkpoints: bool = False,
                 tracker=None, header: dict | None = None) -> dict:
    """Run (or resume) one (method, seed) sequence over ``tasks``; return the results dict.

    A stage whose checkpoint was written but whose row was not (stopped while it was measured) is
    measured from its checkpoint on resume, not trained again (its ``train_stats.json`` is kept with it).
    """
    results = prepare_run_dir(run_dir, config, overwrite, (header or {}).get("task_versions"))
    done = 0 if results is None else len(results["stages"]) - 1
    if done >= len(tasks):
        return results
    learner = make_learner()
    seq = _Sequence(config, domain, method, seed, tasks, run_dir, keep_checkpoints, tracker, header, results,
                    columns=learner.eval_names(), supersedes=getattr(learner, "supersedes", dict)())
    if done > 0:
        learner.load(seq.ckpt(done))
    measurer = open_measurer(learner, config.get("overlap_measurement", "auto"), domain)
    try:
        if seq.results is None:
            seq.submit(measurer, {"kind": "base"})
        for k in range(done + 1, len(tasks) + 1):
            try:
                stats, t_train = seq.trained_or_resumed(learner, k)
            finally:
                seq.record_all(measurer.collect())  # overlapped: the stage measured meanwhile
            seq.submit(measurer, {"kind": "stage", "k": k, "task": tasks[k - 1], "checkpoint": str(seq.ckpt(k)),
                                  "old": seq.old_tasks(k), "stats": stats, "train_seconds": t_train})
        seq.record_all(measurer.collect())
    finally:
        measurer.close()
    return seq.results


class _Sequence:
    """One run directory's state: trains and checkpoints stages, records measured rows."""

    def __init__(self, config, domain, method, seed, tasks, run_dir, keep_checkpoints, tracker, header, results,
                 columns, supersedes):
        self.config, self.domain, self.method, self.seed, self.tasks = config, domain, method, seed, tasks
        self.run_dir, self.keep_checkpoints, self.tracker, self.header = run_dir, keep_checkpoints, tracker, header
        self.results, self.columns = results, columns
        self.supersedes = supersedes   # task -> the column whose users' tastes it replaces (not old after it)
        self.names = stage_names(tasks)
        self.planned_tasks = config.get("tasks") or tasks  # max_stages does not change what is old
        self.planned = stage_names(self.planned_tasks)
        self.state = PartialState()

    def ckpt(self, k: int) -> Path:
        return self.run_dir / "checkpoints" / f"stage{k}"

    def old_tasks(self, k: int) -> list[str]:
        """Columns that are old at stage k: every evaluated task but the new one, except tasks of the
        planned sequence not trained yet (``max_stages`` does not make a later stage's task old)."""
        task, planned = self.tasks[k - 1], self.planned_tasks
        stale = {self.supersedes.get(t) for t in planned[:k]}
        return [c for c in self.columns if c != task and c not in stale
                and (c not in planned or c in planned[:k - 1])]

    def trained_or_resumed(self, learner: Learner, k: int) -> tuple[dict, float]:
        """Train stage k and write its checkpoint, or load the checkpoint a stopped run left."""
        path, task = self.ckpt(k), self.tasks[k - 1]
        saved = path / TRAIN_STATS
        if saved.is_file():
            learner.load(path)
            info = read_json(saved)
            return info["stats"], info["train_seconds"]
        t0 = time.time()
        stats = learner.train_stage(task, k)
        t_train = time.time() - t0
        _check_finite(learner, f"{self.method} seed {self.seed} stage {k} ({task})", self.run_dir)
        if self.state.is_main_process:
            shutil.rmtree(path, ignore_errors=True)
            tmp = path.parent / f".stage{k}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                learner.save(tmp)
                atomic_write_json(tmp / TRAIN_STATS, {"stats": stats, "train_seconds": t_train})
                tmp.rename(path)
            except OSError as e:
                raise ForgetbenchError(f"cannot write the checkpoint {path}: {e.strerror or e} (finished "
                                       f"stages are kept in {self.run_dir / 'results.json'})") from e
        self.state.wait_for_everyone()
        getattr(learner, "mark_saved", lambda p: None)(path)
        return stats, t_train

    def submit(self, measurer, request: dict) -> None:
        """Hand a measurement to ``measurer``; an inline one is recorded at once."""
        measurer.submit(request)
        if not measurer.overlaps:
            self.record_all(measurer.collect())

    def record_all(self, measured: list[dict]) -> None:
        for m in measured:
            self._record_base(m) if m["kind"] == "base" else self._record_stage(m)

    def _record_base(self, m: dict) -> None:
        names, versions = self.columns, (self.header or {}).get("task_versions")
        self.results = {"experiment": self.config.get("experiment"), "domain": self.domain, "method": self.method,
                        "seed": self.seed, "config": self.config, "fingerprint": run_fingerprint(self.config, versions),
                        **(self.header or {}), "stages": ["base"], "tasks": names,
                        **({"supersedes": self.supersedes} if self.supersedes else {}),
                        "accuracy": [[m["accuracy"][t] for t in names]], "metrics": {},
                        "drift": [], "kl": [], "timing": [], "train_stats": [], "extras": [],
                        "base_eval_seconds": round(m["eval_seconds"], 2)}
        if "per_example" in m:
            self.results["per_example"] = [m["per_example"]]
        _write(self.results, self.run_dir)
        if self.tracker is not None:
            self.tracker.log_stage(0, "base", {"accuracy": dict(m["accuracy"])})

    def _record_stage(self, m: dict) -> None:
        r, k = self.results, m["k"]
        r["stages"].append(self.names[k - 1])
        r["accuracy"].append([m["accuracy"][c] for c in r["tasks"]])
        r["drift"].append(m["drift"])
        r["kl"].append(m["kl"])
        r["train_stats"].append(m["stats"])
        r["extras"].append(m["extras"])
        extras = m["extras"]
        if isinstance(extras, dict) and "defects" in extras:   # recsys: one defects dict per stage
            r.setdefault("defects", [e.get("defects") if isinstance(e, dict) else None
                                     for e in r["extras"][:-1]]).append(extras["defects"])
        r["timing"].append({"train": round(m["train_seconds"], 2), "eval": round(m["eval_seconds"], 2),
                            "measure": round(m["measure_seconds"], 2)})
        r["metrics"] = continual_metrics(r["accuracy"], r["stages"], r["tasks"], planned=self.planned,
                                         supersedes=self.supersedes)
        if "per_example" in m and len(r.get("per_example", [])) == k:  # absent in runs begun before it
            r["per_example"].append(m["per_example"])
            r["example_events"] = example_events(r["per_example"], r["stages"], r["tasks"], planned=self.planned,
                                                 supersedes=self.supersedes)
        _write(r, self.run_dir)
        if self.state.is_main_process and not self.keep_checkpoints and k > 1:
            shutil.rmtree(self.ckpt(k - 1), ignore_errors=True)
        if self.state.is_main_process:
            print(summary_line(r, k, len(self.tasks)), flush=True)
        if self.tracker is not None:
            self.tracker.log_stage(k, self.names[k - 1], _stage_row(r, k))


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
