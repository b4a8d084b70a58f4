"""Saturation of a stage's own task, read off a periodic evaluation trace, and the training signal
that is left once the task is learned.

- ``steps_to_saturation(trace, threshold)`` = the first optimizer step s of the trace (step 0 = the
  stage start) with accuracy(s) ≥ threshold; ``None`` if the stage never got there.
- ``steps_past_saturation`` = max_steps − steps_to_saturation (0 when it saturated at the last step;
  ``None`` when it never did).
- ``signal_past(log, key, from_step)`` = mean of ``key`` over the trainer's log entries logged after
  ``from_step`` (e.g. GRPO's zero-spread share ``frac_reward_zero_std`` or SFT's ``loss``); ``None``
  where none was logged.
"""
from __future__ import annotations

from typing import Iterable, Sequence


def steps_to_saturation(trace: Sequence[Sequence[float]], threshold: float = 0.95) -> int | None:
    """First step of ``trace`` (pairs (step, accuracy), any order) whose accuracy ≥ ``threshold``."""
    for step, acc in sorted(trace):
        if acc >= threshold:
            return int(step)
    return None


def steps_past_saturation(saturated_at: int | None, max_steps: int) -> int | None:
    """Optimizer steps trained after the task reached the threshold (None if it never did)."""
    return None if saturated_at is None else max(0, int(max_steps) - saturated_at)


def signal_past(log: Iterable[dict], key: str, from_step: int | None) -> float | None:
    """Mean of ``log[i][key]`` over entries with ``step`` > ``from_step`` (None: never saturated)."""
    if from_step is None:
        return None
    values = [float(e[key]) for e in log if key in e and e.get("step", 0) > from_step and e[key] is not None]
    return sum(values) / len(values) if values else None


def past_saturation_summary(trace, log: list[dict], max_steps: int, threshold: float = 0.95) -> dict:
    """The per-stage saturation record of ``results.json``: the step it saturated, the steps past it,
    and the mean training signal past it (loss, GRPO/RLOO zero-spread share, entropy on the task's
    prompts from the trace's third column when present)."""
    at = steps_to_saturation([(s, a) for s, a, *_ in trace], threshold)
    entropy = [(s, e) for s, _, e, *_ in trace if e is not None] if trace and len(trace[0]) > 2 else []
    return {
        "threshold": threshold,
        "steps_to_saturation": at,
        "steps_past_saturation": steps_past_saturation(at, max_steps),
        "loss_past_saturation": signal_past(log, "loss", at),
        "zero_spread_past_saturation": signal_past(log, "frac_reward_zero_std", at),
        "entropy_past_saturation": signal_past([{"step": s, "entropy": e} for s, e in entropy], "entropy", at),
        "trace": [list(t) for t in trace],
    }
