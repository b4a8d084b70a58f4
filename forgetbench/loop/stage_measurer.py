"""Measuring a trained stage — evaluate every task, drift against the base and the previous stage,
KL, extras — inline, or in a forked process that overlaps the next stage's training.

``overlap_measurement`` (config): ``auto`` (default) overlaps for an LLM run in one CPU process
whose torch uses one thread while more cores are free (``accelerate launch`` on a CPU machine);
``true`` forces it (one CPU process needed), ``false`` measures inline. The forked process owns a
copy of the learner made after it was built (and resumed): for each stage it loads the stage's
checkpoint, measures it and keeps its weights as the next stage's "previous". The numbers are those
of the inline measurement (every sampled measure is seeded); only the wall time changes: stage k is
measured while stage k+1 trains, on another core. Memory: one more copy of the trained weights.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import time
import traceback
from pathlib import Path

import torch
from accelerate import PartialState

from forgetbench.errors import ForgetbenchError
from forgetbench.loop.learner import Learner
from forgetbench.measures.drift import drift_report, snapshot


class InlineMeasurer:
    """Measures each request when it is submitted, in this process."""
    overlaps = False

    def __init__(self, learner: Learner):
        self.learner = learner
        self.prev = snapshot(learner.parameters())  # the weights the next stage's drift is taken from
        # the base's singular spectra, computed once (a learner may keep them across runs)
        self.base_spectra = learner.kept_base_spectra() if hasattr(learner, "kept_base_spectra") else {}
        self._done: list[dict] = []

    def measure(self, request: dict) -> dict:
        """``request``: ``{"kind": "base"}`` or ``{"kind": "stage", "task", "old", ...}``; returns it with
        the measurements added (accuracy per task; for a stage also drift, kl, extras, seconds)."""
        t0 = time.time()
        accuracy = self.learner.evaluate()
        out = {**request, "accuracy": accuracy, "eval_seconds": time.time() - t0}
        if hasattr(self.learner, "per_example"):
            out["per_example"] = self.learner.per_example()
        if request["kind"] == "base":
            return out
        t0 = time.time()
        params = self.learner.parameters()
        out["drift"] = drift_report(self.learner.base_parameters(), params, self.prev, base_spectra=self.base_spectra,
                                    **getattr(self.learner, "drift_options", {}))
        out["kl"] = self.learner.divergences(request["task"], request["old"])
        out["extras"] = self.learner.extras(request["task"])
        out["measure_seconds"] = time.time() - t0
        self.prev = snapshot(params)
        return out

    def submit(self, request: dict) -> None:
        self._done.append(self.measure(request))

    def collect(self) -> list[dict]:
        """The measurements submitted so far, in order (blocks until they are done)."""
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        pass


class ForkedMeasurer:
    """Measures in a forked child process, in submission order, while this process trains on."""
    overlaps = True

    def __init__(self, learner: Learner):
        ctx = multiprocessing.get_context("fork")
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(learner, child_end, self._conn),
                                 name="forgetbench-measure", daemon=True)
        self._proc.start()
        child_end.close()
        self._pending = 0

    def submit(self, request: dict) -> None:
        self._conn.send(request)
        self._pending += 1

    def collect(self) -> list[dict]:
        done = []
        while self._pending:
            try:
                status, value = self._conn.recv()
            except (EOFError, OSError):
                self._proc.join(timeout=5)
                raise ForgetbenchError(f"the measurement process ended unexpectedly (exit code "
                                       f"{self._proc.exitcode}); rerun to resume, or set "
                                       f"overlap_measurement: false") from None
            self._pending -= 1
            if status == "error":
                raise value
            done.append(value)
        return done

    def close(self) -> None:
        if self._proc.is_alive():
            if self._pending:          # interrupted mid-measurement: nothing to wait for
                self._proc.terminate()
            else:
                try:
                    self._conn.send(None)
                except OSError:
                    self._proc.terminate()
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join()
        self._conn.close()


def _serve(learner: Learner, conn, parent_end) -> None:
    """The child's loop: load each stage's checkpoint, measure it, send the result (or the error)."""
    parent_end.close()
    # A forked child must not enter an OpenMP team its parent's threads formed (libgomp hangs); with
    # one thread there is none. The parent also uses one thread when overlapping on auto.
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, whose exit ends this loop
    measurer = InlineMeasurer(learner)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            if request["kind"] == "stage":
                learner.load(Path(request["checkpoint"]))
            conn.send(("ok", measurer.measure(request)))
        except BaseException as e:  # noqa: BLE001 — the parent re-raises it
            conn.send(("error", _portable(e)))


def _portable(e: BaseException) -> BaseException:
    """``e`` if it survives pickling (a ForgetbenchError does), else a RuntimeError with its traceback."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:  # noqa: BLE001
        return RuntimeError(f"in the measurement process: {traceback.format_exc()}")


def overlap_possible(learner: Learner) -> str | None:
    """Why overlapping is impossible here, or None."""
    if PartialState().num_processes > 1:
        return "the run has several processes"
    if "fork" not in multiprocessing.get_all_start_methods():
        return "this platform cannot fork"
    if any(p.device.type != "cpu" for p in learner.parameters().values()):
        return "the model is not on the CPU"
    return None


def open_measurer(learner: Learner, mode, domain: str):
    """An :class:`InlineMeasurer` or a :class:`ForkedMeasurer` for ``overlap_measurement: mode``."""
    mode = str(mode).lower()
    if mode == "false":
        return InlineMeasurer(learner)
    why_not = overlap_possible(learner)
    if mode == "true":
        if why_not:
            raise ForgetbenchError(f"config: overlap_measurement is true but {why_not}; use auto or false")
        return ForkedMeasurer(learner)
    idle_core = torch.get_num_threads() == 1 and len(os.sched_getaffinity(0)) > 1
    return ForkedMeasurer(learner) if domain == "llm" and idle_core and not why_not else InlineMeasurer(learner)
