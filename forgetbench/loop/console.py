"""What a run prints. Quiet by default: the header, one progress bar per stage (steps, ETA, the loss
or reward as postfix), the stage summary lines, sweep positions and the report path. ``--verbose``
restores everything the libraries print. Under ``CI=true`` or when standard output is not a terminal
the bar is not drawn (no carriage returns in logs): the stage summary line is the stage's one line."""
from __future__ import annotations

import os
import re
import sys
import warnings

from transformers import PrinterCallback, ProgressCallback, TrainerCallback

#: Library warnings known to be harmless in this suite, filtered by message (unknown ones still show).
HARMLESS_WARNINGS = (
    # transformers 5 (modeling_utils), once per GRPO stage: TRL still asks the old name of the
    # activation-checkpointing flag; nothing is checkpointed here.
    r"`is_gradient_checkpointing` is deprecated.*",
)

_state = {"verbose": False}


def verbose() -> bool:
    return _state["verbose"]


def bars_enabled() -> bool:
    """A live progress bar only for an interactive terminal outside CI."""
    return not os.environ.get("CI", "").lower() in ("1", "true", "yes") and sys.stdout.isatty()


def configure(verbose_output: bool = False) -> None:
    """Quiet the libraries (their preparation bars, info logs and known warnings) unless verbose."""
    _state["verbose"] = bool(verbose_output)
    if verbose_output:
        return
    import datasets
    import huggingface_hub.utils
    import transformers

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for pattern in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


class StageProgress(TrainerCallback):
    """One bar per training stage: ``where  12/40 [00:03<00:07, loss=0.41]``; nothing without a terminal."""

    POSTFIX = ("loss", "reward")

    def __init__(self, where: str):
        self.where, self.bar = where, None

    def on_train_begin(self, args, state, control, **kwargs):
        if bars_enabled() and not verbose() and state.is_local_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, desc=self.where, leave=False, dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = {k: f"{float(logs[k]):.3g}" for k in self.POSTFIX if k in (logs or {})}
        if self.bar is not None and shown:
            self.bar.set_postfix(shown, refresh=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def quiet_trainer(trainer):
    """Unless verbose: drop the trainer's own per-step log printer and bar (a ``StageProgress``
    callback draws the stage's one bar)."""
    if not verbose():
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    return trainer


def eta(done: int, total: int, elapsed: float) -> str:
    """``' ETA 3m05s'`` from the mean time per finished unit; empty before the first one."""
    if not done or done >= total:
        return ""
    left = round(elapsed / done * (total - done))
    return f" ETA {left // 60}m{left % 60:02d}s" if left >= 60 else f" ETA {left}s"


def filtered(message: str) -> bool:
    """Whether ``message`` is one of the harmless warnings (used by tests)."""
    return any(re.fullmatch(p, message, flags=re.S) for p in HARMLESS_WARNINGS)
