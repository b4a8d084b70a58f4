"""Weights & Biases tracking of one (experiment, method, seed) run.

``Tracker(..., enabled=False)`` is a no-op everywhere, so callers never branch on it.

Two step axes, both our own so they survive several trainers in one W&B run (the HF Trainer's
``train/global_step`` restarts at 0 with every trainer):

- ``train/step``: continuous over all stages' trainers; ``train/*`` and ``eval/*`` are plotted on it.
- ``cl/stage``: the continual-learning stage (0 = base); ``cl/*`` is plotted on it.

Use ``callback()`` in the trainers with ``report_to="none"``. Without credentials (no
``WANDB_API_KEY`` / identity-token file / netrc entry) and with ``WANDB_MODE`` unset or ``online``,
the run falls back to offline mode (``wandb sync`` uploads it later) and says so once, so nothing
ever prompts for a login. Under a distributed launch only ``RANK`` 0 logs.
"""
from __future__ import annotations

import hashlib
import math
import numbers
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping

_NOTICE_SHOWN = False


def _number(v: Any) -> float | int | None:
    """``v`` as a Python number; None for bools, None, strings, containers, non-scalar tensors."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, numbers.Real):  # numpy scalars
        return float(v)
    numel = getattr(v, "numel", None)  # torch / numpy 0-d or 1-element tensors
    if callable(numel) and hasattr(v, "item"):
        try:
            if numel() == 1:
                x = v.item()
                return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None
        except Exception:  # noqa: BLE001 - anything odd is simply not a number
            return None
    return None


def flatten_numbers(d: Mapping[str, Any], prefix: str = "") -> dict[str, float | int]:
    """Nested mapping -> {"a/b/c": number}; non-numbers (strings, None, lists) are dropped."""
    out: dict[str, float | int] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_numbers(v, key + "/"))
        else:
            x = _number(v)
            if x is not None:
                out[key] = x
    return out


def run_id(experiment: str, method: str, seed: Any, label: str | None = None) -> str:
    """Stable W&B run id: readable slug + hash of (experiment, method, seed, label)."""
    key = "\x1f".join([str(experiment), str(method), str(seed), str(label or "")])
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{experiment}-{method}-{label or ''}-s{seed}")
    readable = re.sub(r"-+", "-", readable).strip("-")[:48]
    return f"{readable}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def _tags(*values: Any) -> list[str]:
    """W&B tags must be 1-64 characters: a long model path is shortened to its last part."""
    out: list[str] = []
    for v in values:
        t = str(v or "").strip()
        if len(t) > 64:
            t = Path(t.rstrip("/")).name[-64:]
        if t and t not in out:
            out.append(t)
    return out


def has_wandb_credentials() -> bool:
    """True when W&B could authenticate without asking: env key/token file or a netrc entry."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")
    try:
        from wandb.sdk.lib.wbauth.wbnetrc import read_netrc_auth
        return bool(read_netrc_auth(host=host))
    except Exception:  # noqa: BLE001 - private API moved or netrc unreadable: try the stdlib
        try:
            import netrc
            from urllib.parse import urlparse
            return netrc.netrc().authenticators(urlparse(host).hostname or host) is not None
        except Exception:  # noqa: BLE001
            return False


def _choose_mode() -> str | None:
    """The W&B mode to pass, or None to leave wandb's own choice (WANDB_MODE) alone."""
    global _NOTICE_SHOWN
    mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if mode in ("offline", "dryrun", "disabled"):
        return None
    if has_wandb_credentials():
        return None
    if not _NOTICE_SHOWN:
        print("forgetbench: no W&B credentials (WANDB_API_KEY / netrc) — logging offline; upload "
              "later with `wandb sync <output_dir>/wandb/offline-run-*`", file=sys.stderr)
        _NOTICE_SHOWN = True
    return "offline"


class Tracker:
    """W&B run of one (experiment, method, seed); every method is a no-op when disabled."""

    def __init__(self, config: dict, *, experiment: str, method: str, seed: int, domain: str,
                 model: str, output_dir: str | os.PathLike, enabled: bool,
                 run_name: str | None = None) -> None:
        # only the main process of a distributed launch logs (the others would fight over one id)
        self.enabled = bool(enabled) and int(os.environ.get("RANK", "0") or 0) == 0
        self.run = None
        self.train_step = 0          # last value logged on the train/step axis
        if not self.enabled:
            return
        import wandb

        label = config.get("label") or run_name
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        mode = _choose_mode()
        kwargs: dict[str, Any] = dict(
            project=config.get("wandb_project", "forgetbench"), group=experiment, job_type=method,
            name=run_name or f"{method}-seed{seed}", tags=_tags(domain, method, model),
            config=config, dir=str(out), id=run_id(experiment, method, seed, label),
            resume="allow", reinit="create_new",
        )
        if config.get("wandb_entity"):
            kwargs["entity"] = config["wandb_entity"]
        if mode is not None:
            kwargs["mode"] = mode
        self.run = wandb.init(**kwargs)
        self.run.define_metric("train/step")
        self.run.define_metric("train/*", step_metric="train/step")
        self.run.define_metric("eval/*", step_metric="train/step")
        self.run.define_metric("cl/stage")
        self.run.define_metric("cl/*", step_metric="cl/stage")
        try:  # continue the axis of a resumed online run
            prev = self.run.summary.get("train/step")
            if isinstance(prev, (int, float)) and not isinstance(prev, bool):
                self.train_step = int(prev)
        except Exception:  # noqa: BLE001
            pass

    # -- training curves ---------------------------------------------------------------------
    def log_train(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log ``metrics`` under ``train/...`` (``eval_x`` -> ``eval/x``) at ``train/step``.
        ``step`` defaults to the previous step + 1; a smaller value is raised to the previous one
        so the axis never goes back."""
        if self.run is None:
            return
        step = self.train_step + 1 if step is None else max(int(step), self.train_step)
        row: dict[str, Any] = {}
        for k, v in flatten_numbers(metrics).items():
            if k.startswith(("train/", "eval/")):
                row[k] = v
            elif k.startswith("eval_"):
                row["eval/" + k[len("eval_"):]] = v
            else:
                row["train/" + k] = v
        row.pop("train/step", None)
        if not row:
            return
        self.train_step = step
        self.run.log({**row, "train/step": step})

    def callback(self):
        """A transformers TrainerCallback forwarding each trainer log to ``log_train``, on the
        continuous axis: train/step = (train/step when this trainer started) + global_step."""
        from transformers import TrainerCallback

        tracker = self

        class _ForgetbenchWandbCallback(TrainerCallback):
            def __init__(self) -> None:
                self.offset = None
                self.last_global = -1

            def _new_segment(self) -> None:
                self.offset = tracker.train_step
                self.last_global = -1

            def on_train_begin(self, args, state, control, **kwargs):
                self._new_segment()

            def on_log(self, args, state, control, logs=None, **kwargs):
                if tracker.run is None or not logs:
                    return
                g = int(getattr(state, "global_step", 0) or 0)
                if self.offset is None or g < self.last_global:  # a new trainer without train_begin
                    self._new_segment()
                self.last_global = g
                tracker.log_train(logs, step=self.offset + g)

        return _ForgetbenchWandbCallback()

    # -- continual-learning stages -----------------------------------------------------------
    def log_stage(self, stage: int, name: str, row: Mapping[str, Any]) -> None:
        """Log the numbers of ``row`` (nested dicts flattened with "/") under ``cl/...`` at
        ``cl/stage = stage``; strings and nulls are skipped. ``name`` (the stage's task) is not a
        number, so it is not logged as a series; stage names appear in ``finish``'s table."""
        if self.run is None:
            return
        data = {(k if k.startswith("cl/") else f"cl/{k}"): v for k, v in flatten_numbers(row).items()}
        data["cl/stage"] = int(stage)
        self.run.log(data)

    # -- end of run --------------------------------------------------------------------------
    def finish(self, results: Mapping[str, Any] | None = None,
               heatmap_png: str | os.PathLike | None = None, exit_code: int | None = None) -> None:
        """Log the accuracy matrix (wandb.Table: stage + tasks) and heatmap image, set the run
        summary (ACC, BWT, FWT, forgetting, final decline/gain, final drift and KL), finish."""
        if self.run is None:
            return
        import wandb

        run, self.run = self.run, None
        try:
            if results:
                self._log_results(wandb, run, results, heatmap_png)
        finally:
            run.finish(exit_code=exit_code)

    @staticmethod
    def _log_results(wandb, run, results: Mapping[str, Any], heatmap_png) -> None:
        tasks = [str(t) for t in results.get("tasks") or []]
        stages = [str(s) for s in results.get("stages") or []]
        acc = results.get("accuracy") or []
        data = []
        for i, s in enumerate(stages):
            row = list(acc[i]) if i < len(acc) and acc[i] else []
            cells = [_number(v) for v in row[: len(tasks)]]
            cells = [None if (v is None or (isinstance(v, float) and math.isnan(v))) else float(v)
                     for v in cells]
            data.append([s] + cells + [None] * (len(tasks) - len(cells)))
        payload: dict[str, Any] = {}
        if stages and tasks:
            payload["results/accuracy_matrix"] = wandb.Table(columns=["stage"] + tasks, data=data)
        if heatmap_png is not None and Path(heatmap_png).is_file():
            payload["results/accuracy_heatmap"] = wandb.Image(str(heatmap_png))
        if payload:
            run.log(payload)

        m = results.get("metrics") or {}
        summary: dict[str, Any] = {"ACC": m.get("avg_accuracy"), "BWT": m.get("bwt"),
                                   "FWT": m.get("fwt"), "forgetting": m.get("forgetting")}
        for key in ("old_task_decline", "new_task_gain", "prior_decline"):
            seq = m.get(key)
            if isinstance(seq, list) and seq:
                summary[f"final/{key}"] = seq[-1]
        for key in ("drift", "kl"):
            seq = results.get(key)
            if isinstance(seq, list) and seq and isinstance(seq[-1], Mapping):
                final = {k: v for k, v in seq[-1].items() if k != "per_layer"}
                summary.update(flatten_numbers(final, f"final/{key}/"))
        summary["stages_trained"] = max(len(stages) - 1, 0)
        for k, v in summary.items():
            x = _number(v)
            if x is not None and not (isinstance(x, float) and math.isnan(x)):
                run.summary[k] = x

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.run is not None:
            self.finish(exit_code=1 if exc_type else None)
