"""Trainer callbacks: stop a stage on a NaN loss, forward logs to the tracker."""
from __future__ import annotations

import math

from transformers import TrainerCallback

from forgetbench.errors import ForgetbenchError


class NanLossGuard(TrainerCallback):
    """Raise a clear error as soon as a logged loss is NaN or infinite (the stage is not saved)."""

    def __init__(self, where: str):
        self.where = where

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise ForgetbenchError(f"{self.where}: training loss became {loss} at step {state.global_step}; "
                                   f"the stage is discarded (earlier stages are kept) — lower the learning rate")
