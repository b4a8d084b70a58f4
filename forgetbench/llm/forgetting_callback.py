"""``forgetbench.ForgettingCallback``: forgetting measured inside any transformers / TRL trainer.

    trainer = SFTTrainer(..., callbacks=[ForgettingCallback(tasks=["copy", "add"], every_n_steps=50)])

At train start it keeps a frozen reference π0 — a copy of the model as it starts, or the model at
``reference`` (loaded with ``forgetbench.load_model``) — and π0's accuracy on every task. At step 0,
every ``every_n_steps`` optimizer steps and at the last step it logs, through the trainer's own
``log`` (so into ``trainer.state.log_history`` and every reporter: W&B, TensorBoard, …):

- ``forgetting/<task>``: the model's greedy accuracy on the task (lm-eval: ``forgetting/lm_eval/<task>``);
- ``forgetting/old_task_decline`` = mean over the tasks j of acc_j(π0) − acc_j(π);
- ``forgetting/old_prompt_forward_kl`` = mean over the forgetbench tasks of
  E_x E_{y~π0(·|x)} Σ_t KL(π0(·|x,y<t) ‖ π(·|x,y<t)) on their first ``kl_prompts`` eval prompts,
  ``kl_samples`` samples each (nats per sequence; 0 at step 0 when π0 is the starting model).

The numbers are those of ``forgetbench measure --base <reference> --model <checkpoint>`` with the same
settings: both go through ``llm.eval.suite.TaskSuite``, the code of a run's stage measurement. Only the
main process measures (so the numbers are one process's, whatever the world size); the values are
broadcast and the other processes wait. Measuring never changes training: eval mode, no gradients,
and the torch, CUDA, Python and NumPy random states restored after. A ``peft`` model is measured as it
is (adapter active). The reference is a second copy of the weights in memory. Not under FSDP.

Default cost (``benchmarks/forgetting_callback.py``): every 50 steps, the first ``eval_limit=32``
eval examples of each task and ``kl_prompts=32`` prompts × 1 sample.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import random
import time

import torch
from accelerate import PartialState
from transformers import Trainer, TrainerCallback

from forgetbench.config.schema import EvalParams, KLParams, LMEvalParams
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.eval import lm_eval_suite
from forgetbench.llm.eval.suite import TaskSuite, load_tasks

PREFIX = "forgetting/"


@contextlib.contextmanager
def rng_kept():
    """The global torch (CPU and CUDA), Python and NumPy random states are as before on exit."""
    import numpy as np

    py, npy = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng():
            yield
    finally:
        random.setstate(py)
        np.random.set_state(npy)


@contextlib.contextmanager
def left_padded(tokenizer):
    """Left padding and a pad token (EOS if none) for generation; the tokenizer's own are restored."""
    side, pad = tokenizer.padding_side, tokenizer.pad_token
    tokenizer.padding_side = "left"
    if pad is None:
        tokenizer.pad_token = tokenizer.eos_token
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side = side
        if pad is None:
            tokenizer.pad_token = None


@contextlib.contextmanager
def plain_forward(model):
    """The model's own ``forward`` while inside: accelerate's mixed-precision wrapper (an instance attribute
    beside ``_original_forward``) is set aside, so the model is measured as saved (fp32 weights, no
    autocast), and put back."""
    patched = vars(model).get("forward") if "_original_forward" in vars(model) else None
    if patched is not None:
        del model.forward
    try:
        yield model
    finally:
        if patched is not None:
            model.forward = patched


def frozen_copy(model):
    """A frozen copy of ``model`` with its own ``forward`` (a deep copy would keep accelerate's wrapper,
    whose closure calls the *original* model)."""
    ref = copy.deepcopy(model)
    for m in ref.modules():
        if "_original_forward" in vars(m):
            vars(m).pop("forward", None)
            vars(m).pop("_original_forward")
    return ref.eval().requires_grad_(False)


def owning_trainer(callback) -> Trainer | None:
    """The ``Trainer`` whose callbacks hold ``callback``, found on the call stack (callbacks get no handle
    on their trainer); None when called from elsewhere."""
    frame = inspect.currentframe()
    while frame is not None:
        obj = frame.f_locals.get("self")
        if isinstance(obj, Trainer) and callback in obj.callback_handler.callbacks:
            return obj
        frame = frame.f_back
    return None


class ForgettingCallback(TrainerCallback):
    """Logs ``forgetting/*`` at step 0, every ``every_n_steps`` steps and at the end (see module doc).

    ``tasks``: forgetbench task names (built-in or plug-in; an unknown one fails here, with its close
    matches); ``lm_eval_tasks``: lm-evaluation-harness task names (each a column ``lm_eval/<task>``);
    ``reference``: a path or name for ``forgetbench.load_model`` (None: the model as training starts);
    ``eval_limit``: the first that many eval examples per task (None: all); ``seed``: of the sampled KL.
    ``history`` keeps every logged row (``{"step": …, "forgetting/…": …}``); ``seconds``: the time spent
    measuring (or, on the other processes, waiting for the main one).
    """

    def __init__(self, tasks=("copy", "add"), every_n_steps: int = 50, kl_prompts: int = 32, lm_eval_tasks=None,
                 reference: str | None = None, *, kl_samples: int = 1, eval_limit: int | None = 32, seed: int = 0,
                 batch_size: int = 256, task_options: dict | None = None, chat_template="auto",
                 chat_system: str | None = None):
        if isinstance(tasks, str):
            tasks = [tasks]
        if not tasks:
            raise ForgetbenchError("ForgettingCallback: tasks is empty; name at least one task (forgetbench tasks)")
        for name, v in (("every_n_steps", every_n_steps), ("kl_prompts", kl_prompts), ("kl_samples", kl_samples),
                        ("eval_limit", 1 if eval_limit is None else eval_limit)):
            if not isinstance(v, int) or v < 1:
                raise ForgetbenchError(f"ForgettingCallback: {name} must be an integer >= 1, got {v!r}")
        self.tasks = load_tasks(list(tasks), task_options)  # unknown names fail now, with close matches
        lm_eval = LMEvalParams(tasks=list(lm_eval_tasks or []))
        lm_eval_suite.check(lm_eval)
        self.eval = EvalParams(batch_size=batch_size, lm_eval=lm_eval)
        self.kl = KLParams(n_prompts=kl_prompts, n_samples=kl_samples)
        self.every, self.reference, self.limit, self.seed = every_n_steps, reference, eval_limit, seed
        self.chat = (chat_template, chat_system)
        self.history: list[dict] = []
        self.seconds = 0.0
        self._trainer = self._suite = self._ref = self._tok = None
        self._ref_acc: dict[str, float] = {}
        self._logged_step: int | None = None

    # --- the trainer's events ---------------------------------------------------------------------
    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kwargs):
        st = PartialState()
        if str(st.distributed_type).endswith("FSDP"):
            raise ForgetbenchError("ForgettingCallback: the model is sharded (FSDP); the callback measures the "
                                   "whole model on the main process — use DDP or one process")
        self._trainer = owning_trainer(self)
        self._tok = getattr(processing_class, "tokenizer", processing_class)
        if self._tok is None:
            raise ForgetbenchError("ForgettingCallback: the trainer has no tokenizer (processing_class)")
        if st.num_processes > 1:
            lm_eval_suite.wait_group()  # made now, by every process together
        self._log(state, self._broadcast(lambda: self._start(model)))

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every == 0:
            self._log(state, self._broadcast(lambda: self._measure(model)))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self._logged_step != state.global_step:
            self._log(state, self._broadcast(lambda: self._measure(model)))

    # --- measuring (main process) -----------------------------------------------------------------
    def _start(self, model) -> dict:
        """Build the suite and the reference, measure π0; the step-0 values."""
        with left_padded(self._tok) as tok:
            self._suite = TaskSuite(self.tasks, tok, chat_template=self.chat[0], chat_system=self.chat[1],
                                    eval=self.eval, kl=self.kl, seed=self.seed, limit=self.limit)
        if self.reference is None:
            self._ref = frozen_copy(model)
        else:
            from forgetbench.llm.base_model.load import load_model

            self._ref = load_model(self.reference)[0].to(next(model.parameters()).device)
        self._ref.eval().requires_grad_(False)
        with rng_kept(), left_padded(self._tok) as tok:
            ev = self._suite.evaluate(self._ref, tok, shard=False)
        self._ref_acc = {n: r["greedy"] for n, r in ev.items()}
        if self.reference is None:  # the model is π0: its decline and KL are 0
            return self._values(self._ref_acc, 0.0)
        return self._measure(model)

    def _measure(self, model) -> dict:
        was_training = model.training
        try:
            with rng_kept(), left_padded(self._tok) as tok, plain_forward(model):
                acc = {n: r["greedy"] for n, r in self._suite.evaluate(model, tok, shard=False).items()}
                kl = self._suite.divergences(self._ref, model, tok, None, list(self.tasks), shard=False)
        finally:
            model.train(was_training)
        return self._values(acc, kl["old_task_forward_kl"])

    def _values(self, acc: dict, kl: float) -> dict:
        names = self._suite.names()
        out = {PREFIX + n: acc[n] for n in names}
        out[PREFIX + "old_task_decline"] = sum(self._ref_acc[n] - acc[n] for n in names) / len(names)
        out[PREFIX + "old_prompt_forward_kl"] = kl
        return out

    # --- several processes, logging ---------------------------------------------------------------
    def _broadcast(self, measure) -> dict:
        """``measure()`` on the main process; its result (or its error) on every process."""
        t0 = time.perf_counter()
        try:
            return self._on_main(measure)
        finally:
            self.seconds += time.perf_counter() - t0

    @staticmethod
    def _on_main(measure) -> dict:
        st = PartialState()
        if st.num_processes == 1:
            return measure()
        import torch.distributed as dist

        box, error = [None], None
        if st.is_main_process:
            try:
                box = [measure()]
            except Exception as e:  # noqa: BLE001 — the others must not wait for ever: they raise it too
                error = e
                box = [e if isinstance(e, ForgetbenchError) else
                       ForgetbenchError(f"ForgettingCallback failed on the main process: {type(e).__name__}: {e}")]
        dist.broadcast_object_list(box, src=0, group=lm_eval_suite.wait_group())
        if error is not None:
            raise error
        if isinstance(box[0], Exception):
            raise box[0]
        return box[0]

    def _log(self, state, values: dict) -> None:
        """Through ``transformers.Trainer.log`` (the base class's: a TRL trainer's own ``log`` would flush
        its running metrics early), so into ``state.log_history`` and every reporter; the trainer's own
        logging, evaluation and saving of the step go on as they would without it."""
        self._logged_step = state.global_step
        self.history.append({"step": state.global_step, **values})
        if self._trainer is not None:
            control = self._trainer.control
            flags = (control.should_log, control.should_evaluate, control.should_save)
            Trainer.log(self._trainer, dict(values))
            # on_log clears should_log: the trainer's own log of this step (its loss) must still happen
            control.should_log, control.should_evaluate, control.should_save = flags
        else:
            state.log_history.append({**values, "step": state.global_step})
