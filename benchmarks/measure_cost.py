"""Cost of measuring one trained stage (drift + KL) against the SFT stage it measures, side by side.

    python benchmarks/measure_cost.py --config smollm2_cpu --svd_matrices 16   # SmolLM2-135M (wheel)
    python benchmarks/measure_cost.py --quick                                   # the tiny base, < 1 min

A learner is built from the named config (method sft, seed 0, the stage probe off). Each round trains
one SFT stage of the config (``max_steps`` x ``prompts_per_step``, timed: **train**), then times, back
to back on the same load, three measurements of the weights it produced:

- **old**: ``drift_report`` over every matrix with no kept base spectra, and ``lm_kl`` drawing the
  base's samples afresh and scoring every position (what a stage cost before the speed-ups);
- **new, cold**: ``drift.svd_matrices`` applies, only completion positions are scored, the base's
  spectra and KL draws start empty (the first stage of the first run of a sweep);
- **new, kept**: the same with the base's spectra and draws kept (every later stage, and with the
  disk cache of ``llm/eval/base_cache.py`` every later run's first stage too).

Prints each round, then the medians over ``--rounds``: seconds, old / new, and **measurement /
training** per path; and the error of every drift and KL number of the new path against the old
(relative): the KL numbers agree to rounding; the three SVD measures differ by the sampling of
matrices when ``--svd_matrices`` is below the model's matrix count.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SVD_KEYS = ("update_rank_frac", "spectral_shift", "principal_angle_deg")


def _learner(config: str, threads: int):
    import torch

    from forgetbench.config.schema import load_config
    from forgetbench.llm.base_model.load import resolve_model_path
    from forgetbench.llm.learner import LLMLearner

    torch.set_num_threads(threads)
    from forgetbench.config.named import resolve_config

    cfg = load_config(["--config", str(resolve_config(config)), "--saturation.every", "0"])
    path = resolve_model_path(cfg.model_name_or_path, cfg.base_recipe, cfg.gguf_file)
    return cfg, LLMLearner(cfg, "sft", 0, path)


def _measure(learner, task, old, prev, *, fast: bool, svd_matrices, spectra, draws) -> tuple[float, dict]:
    from forgetbench.measures import divergence
    from forgetbench.measures.drift import drift_report

    keeps = divergence._keeps_logits
    if not fast:
        divergence._keeps_logits = lambda model: False
    learner.suite.keep_draws(learner.base, draws if draws is not None else {})
    t0 = time.perf_counter()
    try:
        d = drift_report(learner.base_parameters(), learner.parameters(), prev, base_spectra=spectra,
                         svd_matrices=svd_matrices if fast else None)
        kl = learner.divergences(task, old)
    finally:
        divergence._keeps_logits = keeps
    return time.perf_counter() - t0, {**{k: d[k] for k in ("relative_l2", "angular_deg") + SVD_KEYS},
                                      **{k: v for k, v in kl.items() if isinstance(v, float)}}


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="smoke")
    ap.add_argument("--svd_matrices", type=int, default=None, help="drift.svd_matrices of the new path")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="the smoke config, 2 rounds")
    a = ap.parse_args()
    if a.quick:
        a.config, a.rounds = "smoke", 2
    from forgetbench.measures.drift import snapshot

    cfg, learner = _learner(a.config, a.threads)
    task, old = cfg.tasks[0], list(cfg.prior_tasks)
    times = {"train": [], "old": [], "new, cold": [], "new, kept": []}
    for r in range(a.rounds):
        prev = snapshot(learner.parameters())
        t0 = time.perf_counter()
        learner.train_stage(task, r + 1)
        t_train = time.perf_counter() - t0
        t_old, exact = _measure(learner, task, old, prev, fast=False, svd_matrices=None, spectra=None, draws=None)
        spectra, draws = {}, {}                  # cold: the call that fills the kept spectra and draws
        t_cold, _ = _measure(learner, task, old, prev, fast=True, svd_matrices=a.svd_matrices, spectra=spectra,
                             draws=draws)
        t_kept, new = _measure(learner, task, old, prev, fast=True, svd_matrices=a.svd_matrices, spectra=spectra,
                               draws=draws)
        for k, t in zip(times, (t_train, t_old, t_cold, t_kept)):
            times[k].append(t)
        print(f"round {r + 1}: train {t_train:.2f} s, old {t_old:.2f} s, new cold {t_cold:.2f} s, "
              f"new kept {t_kept:.2f} s (kept / train {t_kept / t_train:.1%})", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nconfig {a.config}, {a.threads} thread(s), SFT stage {cfg.max_steps} steps x {cfg.prompts_per_step} "
          f"prompts, svd_matrices {a.svd_matrices}, median of {a.rounds} rounds")
    for k, v in med.items():
        ratios = "" if k == "train" else (f"   old / this {med['old'] / v:5.2f}x   measurement / training "
                                          f"{statistics.median(m / t for m, t in zip(times[k], times['train'])):6.1%}")
        print(f"  {k:<10} {v:7.2f} s{ratios}")
    kl_err = max(_rel(new[k], exact[k]) for k in exact if k not in SVD_KEYS + ("relative_l2", "angular_deg"))
    print(f"  max relative error, KL measures: {kl_err:.1e}; cheap drift measures: "
          f"{max(_rel(new[k], exact[k]) for k in ('relative_l2', 'angular_deg')):.1e}")
    for k in SVD_KEYS:
        print(f"  {k}: exact {exact[k]:.6g}, new {new[k]:.6g} (relative error {_rel(new[k], exact[k]):.1e})")


if __name__ == "__main__":
    main()
