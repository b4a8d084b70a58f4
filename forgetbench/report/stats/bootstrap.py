"""Hierarchical bootstrap over base replicas -> seeds -> eval examples (pure numpy, no I/O).

The data are *units* (base replica, seed), nested in bases: ``clusters = {base: [seed, ...]}``, and
every run is scored on the same fixed eval examples of each task (``n_examples = {task: n}``). One
replicate draws, with replacement,

1. as many bases as there are (level ``bases``),
2. within each drawn base, as many of its seeds as it has (level ``seeds``),
3. each task's eval examples, one draw per task shared by every run (level ``examples``): example i
   gets weight w_i = (times drawn), so a run's accuracy on the task is Σ_i w_i·c_i / n.

A level left out of ``levels`` keeps the data as observed at that level. The statistic sees the
drawn units (repeats kept, grouped by drawn base) and the example weights, and returns an array;
the interval is the percentile interval [q_{2.5%}, q_{97.5%}] of the replicates, per entry, over the
replicates where the entry is finite (a curve point no drawn unit reaches is NaN there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np

LEVELS = ("bases", "seeds", "examples")


@dataclass(frozen=True)
class Draw:
    """One replicate: the drawn units grouped by drawn base, and per task the example weights."""
    groups: tuple[tuple[tuple[Hashable, Hashable], ...], ...]   # ((base, seed), ...) per drawn base
    weights: Mapping[str, np.ndarray]                            # task -> weight per example (sum n)

    def accuracy(self, task: str, correct: np.ndarray) -> np.ndarray:
        """Σ_i w_i·c_i / n over the last axis of a 0/1 array ``correct`` (… × n examples)."""
        w = self.weights.get(task)
        if w is None:
            return np.mean(correct, axis=-1)
        return correct @ w / w.size


def stacked_correctness(rows: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    """Per task, the runs' per-example correctness strings (``"0110…"``) as one 0/1 float matrix (runs ×
    examples), what ``Draw.accuracy`` weighs; ValueError when a task's runs were scored on different
    numbers of eval examples (no shared examples to resample)."""
    for t, v in rows.items():
        if len({len(x) for x in v}) > 1:
            raise ValueError(f"task {t!r}: runs were scored on different numbers of eval examples")
    return {t: np.array([[c == "1" for c in s] for s in v], dtype=float) for t, v in rows.items()}


def observed(clusters: Mapping[Hashable, Sequence[Hashable]], n_examples: Mapping[str, int]) -> Draw:
    """The data as observed: every unit once, every example weight 1."""
    return Draw(tuple(tuple((b, s) for s in seeds) for b, seeds in clusters.items()),
                {t: np.ones(n) for t, n in n_examples.items()})


def draw(rng: np.random.Generator, clusters: Mapping[Hashable, Sequence[Hashable]],
         n_examples: Mapping[str, int], levels: Sequence[str] = LEVELS) -> Draw:
    """One hierarchical replicate (see the module docstring)."""
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown bootstrap levels {sorted(unknown)}; choose from {LEVELS}")
    bases = list(clusters)
    if "bases" in levels:
        bases = [bases[i] for i in rng.integers(0, len(bases), len(bases))]
    groups = []
    for b in bases:
        seeds = list(clusters[b])
        if "seeds" in levels:
            seeds = [seeds[i] for i in rng.integers(0, len(seeds), len(seeds))]
        groups.append(tuple((b, s) for s in seeds))
    weights = {t: (rng.multinomial(n, np.full(n, 1.0 / n)).astype(float) if "examples" in levels else np.ones(n))
               for t, n in n_examples.items()}
    return Draw(tuple(groups), weights)


def nested_mean(values: Mapping[tuple, np.ndarray], groups) -> np.ndarray:
    """Mean over drawn bases of the mean over that base's drawn seeds of ``values[unit]`` (arrays of
    one shape), per entry, ignoring NaN (a unit that does not reach a curve point); NaN where no
    unit of any drawn base has a value."""
    per_base = []
    for units in groups:
        rows = [values[u] for u in units if u in values]
        if rows:
            stack = np.vstack(rows)
            ok = np.isfinite(stack)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_base.append(np.where(ok, stack, 0.0).sum(0) / ok.sum(0))
    if not per_base:
        return np.array([])
    stack = np.vstack(per_base)
    ok = np.isfinite(stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, stack, 0.0).sum(0) / ok.sum(0)


@dataclass(frozen=True)
class Interval:
    """Point estimate (on the observed data), percentile interval, and how it was resampled."""
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_boot: int
    levels: tuple[str, ...]
    level: float = 0.95

    @property
    def how(self) -> str:
        if not self.n_boot or not self.levels:
            return "no interval (1 replica, 1 seed)"
        return (f"{100 * self.level:g}% percentile interval, hierarchical bootstrap "
                f"({' → '.join(self.levels) or 'none'}), {self.n_boot} replicates")


def bootstrap(statistic: Callable[[Draw], np.ndarray], clusters: Mapping[Hashable, Sequence[Hashable]],
              n_examples: Mapping[str, int], n_boot: int = 1000, seed: int = 0,
              levels: Sequence[str] = LEVELS, level: float = 0.95) -> Interval:
    """``statistic`` on the observed data and its percentile interval over ``n_boot`` replicates."""
    rng = np.random.default_rng(seed)
    est = np.asarray(statistic(observed(clusters, n_examples)), dtype=float)
    reps = np.stack([np.asarray(statistic(draw(rng, clusters, n_examples, levels)), dtype=float)
                      for _ in range(n_boot)]) if n_boot else np.empty((0,) + est.shape)
    q = (1.0 - level) / 2.0
    low, high = np.full(est.shape, np.nan), np.full(est.shape, np.nan)
    for i in np.ndindex(est.shape):
        col = reps[(slice(None),) + i]
        col = col[np.isfinite(col)]
        if col.size:
            low[i], high[i] = np.quantile(col, [q, 1.0 - q])
    return Interval(est, low, high, n_boot, tuple(levels), level)


def varying_levels(clusters: Mapping[Hashable, Sequence[Hashable]], levels: Sequence[str] = LEVELS) -> tuple[str, ...]:
    """The levels of ``levels`` worth resampling: base replicas when there are ≥ 2, seeds when a base
    has ≥ 2, then eval examples — and none at all when there is one replica with one seed (an interval
    over the eval examples alone would pass a single run's noise off as the answer's uncertainty)."""
    units = [x for x in levels if (x == "bases" and len(clusters) >= 2)
             or (x == "seeds" and max(map(len, clusters.values()), default=0) >= 2)]
    return tuple(units + (["examples"] if "examples" in levels else [])) if units else ()
