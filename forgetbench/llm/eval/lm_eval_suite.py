"""lm-evaluation-harness suites as old-task columns: ``eval.lm_eval`` in the config.

After the base and after every stage, the tasks of ``eval.lm_eval.tasks`` run through lm-eval on the
model in memory (``HFLM(pretrained=<model>)``; backend ``vllm``: lm-eval's vLLM model on the stage's
checkpoint). Each becomes the accuracy-matrix column ``lm_eval/<task>``, never trained, so a prior
skill in every metric. Its value is the task's main metric, by output type:

- ``multiple_choice`` -> ``acc`` (the right choice has the highest log-likelihood),
- ``generate_until``  -> ``exact_match``,
- ``loglikelihood``   -> ``acc`` (the continuation is the greedy one),

each after the task's first filter (``none`` when it has none); a task that does not report that
metric gives its first listed one (IFEval: ``prompt_level_strict_acc``). The value must lie in
[0, 1] (``loglikelihood_rolling`` perplexities do not: refused). For a group (``mmlu``) the column is
the group's aggregate of that metric. Per-sample values become the ``per_example`` string in doc order
(a group: its tasks one after another) when every value is 0 or 1; continuous per-sample scores
(``truthfulqa_mc2``'s probability mass) keep the column but no ``per_example`` entry.

With ``apply_chat_template`` (an instruct model) every document reaches the model through the
tokenizer's chat template, after ``system_instruction`` as a system message when set; the shipped
``forgetbench_instruct_mc`` is written for that (``lm_eval_data``).

Under several processes lm-eval runs on the main process only (every process holds the full model
between stages) and the result is broadcast; the others wait for it in a gloo group of their own whose
timeout is ``WAIT_HOURS`` (NCCL's default of 10 minutes is shorter than a hub suite on one GPU).
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import importlib.util
import logging
import random
from pathlib import Path

from forgetbench.errors import ForgetbenchError

PREFIX = "lm_eval/"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "lm_eval_tasks"
MAIN_METRIC = {"multiple_choice": "acc", "generate_until": "exact_match", "loglikelihood": "acc"}
INSTALL = "pip install -e '.[lm_eval]'"
WAIT_HOURS = 24


def columns(params) -> list[str]:
    return [PREFIX + t for t in params.tasks]


def require_lm_eval() -> None:
    if importlib.util.find_spec("lm_eval") is None:
        raise ForgetbenchError(f"eval.lm_eval.tasks is set but lm-evaluation-harness is not installed; "
                               f"install it with: {INSTALL}")


def require_backend(params) -> None:
    if params.backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise ForgetbenchError("eval.lm_eval.backend is vllm but vLLM is not installed (pip install vllm; it "
                               "needs a GPU); use backend: hf")


@functools.lru_cache(maxsize=4)
def task_manager(include_path: tuple[str, ...]):
    """lm-eval's index of every task: its own, the shipped suite (``forgetbench/lm_eval_tasks``) and
    ``include_path`` (built once per process: ~10 s)."""
    from lm_eval.tasks import TaskManager

    for p in include_path:
        if not Path(p).is_dir():
            raise ForgetbenchError(f"eval.lm_eval.include_path: {p!r} is not a directory")
    return TaskManager(include_path=[str(SHIPPED_DIR), *include_path])


def _manager(params):
    return task_manager(tuple(params.include_path))


def check(params) -> None:
    """Fail before any training: lm-eval (and vLLM) installed, every task name known to lm-eval (else
    its close matches), no task without an accuracy in [0, 1]."""
    if not params.tasks:
        return
    require_lm_eval()
    require_backend(params)
    tm = _manager(params)
    for name in params.tasks:
        entry = tm.task_index.get(name)
        if entry is None:
            close = difflib.get_close_matches(name, tm.all_tasks, n=5)
            raise ForgetbenchError(f"eval.lm_eval.tasks: lm-eval knows no task {name!r}"
                                   + (f" (close matches: {', '.join(close)})" if close else "")
                                   + "; list them with: lm-eval ls tasks")
        if (entry.cfg or {}).get("output_type") == "loglikelihood_rolling":
            raise ForgetbenchError(f"eval.lm_eval.tasks: {name!r} is a loglikelihood_rolling task (a perplexity, "
                                   f"not an accuracy in [0, 1]); it cannot be a column")


def _spec(tm, name: str):
    """The task's name, or its config with relative ``data_files`` made absolute against its YAML's
    folder (lm-eval alone reads them relative to the working directory)."""
    entry = tm.task_index[name]
    files = ((entry.cfg or {}).get("dataset_kwargs") or {}).get("data_files")
    if not entry.yaml_path or not isinstance(files, dict):
        return name
    from lm_eval.tasks._yaml_loader import load_yaml

    here = Path(entry.yaml_path).resolve().parent
    cfg = dict(load_yaml(entry.yaml_path, resolve_func=True))
    resolve = lambda f: f if Path(f).is_absolute() or not (here / f).exists() else str(here / f)  # noqa: E731
    cfg["dataset_kwargs"] = {**cfg["dataset_kwargs"], "data_files": {
        split: [resolve(f) for f in v] if isinstance(v, list) else resolve(v) for split, v in files.items()}}
    return cfg


def vllm_model_args(checkpoint: str, params) -> dict:
    """Arguments of lm-eval's vLLM model: the checkpoint on disk, ``batch_size`` and ``model_args``."""
    return {"pretrained": str(checkpoint), "tokenizer": str(checkpoint), "batch_size": params.batch_size,
            "dtype": "auto", **params.model_args}


def _model(model, tokenizer, checkpoint, params):
    if params.backend == "vllm":
        from lm_eval.models.vllm_causallms import VLLM

        return VLLM(**vllm_model_args(checkpoint, params))
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=params.batch_size, **params.model_args)


def main_metric(task) -> tuple[str, str]:
    """(metric, filter) of an lm-eval Task: see the module docstring."""
    names = [m["metric"] for m in (task.config.metric_list or [])] or list(task._metric_fn_list)
    want = MAIN_METRIC.get(task.get_config("output_type"))
    filters = task.config.filter_list or []
    return (want if want in names else names[0]), (filters[0]["name"] if filters else "none")


def per_sample(samples: list[dict], metric: str, filt: str) -> list[float]:
    rows = sorted((s for s in samples if s.get("filter", "none") == filt), key=lambda s: s["doc_id"])
    return [float(s[metric]) for s in rows]


def summarise(out: dict, loaded: dict, names: list[str]) -> dict[str, dict]:
    """``{column: {"accuracy": float, "correct": "0110…" or None}}`` from ``simple_evaluate``'s output."""
    tasks, groups = loaded["tasks"], loaded["groups"]
    result = {}
    for name in names:
        leaves = [t.task_name for t in groups[name].get_all_tasks()] if name in groups else [name]
        metric, filt = main_metric(tasks[leaves[0]])
        key = f"{metric},{filt}"
        value = out["results"].get(name, {}).get(key)
        if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
            raise ForgetbenchError(f"lm-eval task {name!r}: its main metric {key!r} is {value!r}, not an accuracy "
                                   f"in [0, 1] (reported: {sorted(out['results'].get(name, {}))})")
        values = [v for leaf in leaves for v in per_sample(out["samples"][leaf], *main_metric(tasks[leaf]))]
        binary = bool(values) and all(v in (0.0, 1.0) for v in values)
        result[PREFIX + name] = {"accuracy": float(value), "metric": key,
                                 "correct": "".join("1" if v == 1.0 else "0" for v in values) if binary else None}
    return result


@contextlib.contextmanager
def _no_bars(quiet: bool):
    """lm-eval's per-request tqdm bars off while it runs (unless ``--verbose``)."""
    import tqdm

    init = tqdm.tqdm.__init__

    def silent(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "disable": True})

    if quiet:
        tqdm.tqdm.__init__ = silent
    try:
        yield
    finally:
        tqdm.tqdm.__init__ = init


def run_suite(model, tokenizer, params, checkpoint: str | None = None) -> dict[str, dict]:
    """Run ``params.tasks`` on this process (see :func:`evaluate_suite`). Global RNG states are kept."""
    import lm_eval
    import numpy as np
    import torch

    from forgetbench.loop import console

    if params.apply_chat_template and params.backend == "hf" and getattr(tokenizer, "chat_template", None) is None:
        raise ForgetbenchError("eval.lm_eval.apply_chat_template is true but the model's tokenizer has no chat "
                               "template (set it to false for a base model)")
    quiet = not console.verbose()
    if quiet:
        logging.getLogger("lm_eval").setLevel(logging.ERROR)
    tm = _manager(params)
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]), _no_bars(quiet):
            loaded = tm.load([_spec(tm, n) for n in params.tasks])
            specs = [loaded["groups"][n] if n in loaded["groups"] else loaded["tasks"][n] for n in params.tasks]
            lm = _model(model, tokenizer, checkpoint, params)
            out = lm_eval.simple_evaluate(
                model=lm, tasks=specs, task_manager=tm, num_fewshot=params.num_fewshot, limit=params.limit,
                log_samples=True, bootstrap_iters=0, random_seed=None, numpy_random_seed=None,
                torch_random_seed=None, apply_chat_template=params.apply_chat_template,
                system_instruction=params.system_instruction)
            del lm
            if params.backend == "vllm":  # free the engine's GPU memory for the next stage's training
                import gc

                gc.collect()
                torch.cuda.empty_cache()
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return summarise(out, loaded, params.tasks)


@functools.lru_cache(maxsize=1)
def wait_group():
    """A gloo group over every process with a long timeout (made once, by every process together)."""
    from datetime import timedelta

    import torch.distributed as dist

    return dist.new_group(backend="gloo", timeout=timedelta(hours=WAIT_HOURS))


def evaluate_suite(model, tokenizer, params, checkpoint: str | None = None) -> dict[str, dict]:
    """:func:`run_suite` on the main process, broadcast to the others (same dict everywhere)."""
    import torch.distributed as dist
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes == 1:
        return run_suite(model, tokenizer, params, checkpoint)
    group = wait_group()  # made now, while every process is here (not after the main one's long suite)
    box, error = [None], None
    if state.is_main_process:
        try:
            box = [run_suite(model, tokenizer, params, checkpoint)]
        except Exception as e:  # noqa: BLE001 — the others must not wait for ever: they raise it too
            error = e
            box = [e if isinstance(e, ForgetbenchError) else
                   ForgetbenchError(f"lm-eval failed on the main process: {type(e).__name__}: {e}")]
    dist.broadcast_object_list(box, src=0, group=group)
    if error is not None:
        raise error
    if isinstance(box[0], ForgetbenchError):
        raise box[0]
    return box[0]
