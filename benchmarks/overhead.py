"""Harness overhead: one SFT and one GRPO stage through the harness vs the bare TRL trainers.

- harness: ``forgetbench.loop.sequence.run_sequence`` on a one-stage config (``configs/default.yaml`` with
  ``max_stages: 1``: the first task, ``even_between``, trained; all six of its tasks evaluated) with a
  fresh ``LLMLearner``: learner construction (two model loads, eval sets), base evaluation,
  ``train_stage``, checkpoint, evaluation of every task, ``drift_report``, KL (``divergences``),
  extras and ``results.json``. Every piece is timed by wrapping it.
- bare: ``forgetbench.llm.methods.sft.train_sft`` / ``grpo.train_grpo`` (TRL ``SFTTrainer`` /
  ``GRPOTrainer`` with the harness's arguments) on a model loaded beforehand, on the same rows
  (the learner's shuffled selection of ``max_steps x prompts_per_step`` training prompts), the same
  steps and hyperparameters, no callbacks.

The harness's *per-stage extra* = (``train_stage`` - bare trainer) + stage evaluation + drift + KL
+ checkpoint, extras and bookkeeping; its *one-time* extra = learner construction + base
evaluation (once per sequence, i.e. once per 3 stages in the default experiment). Both are
reported as fractions of the bare trainer's time (goal: per-stage extra <= 15%). Medians over
``--repeats`` rounds; each round runs harness and bare back to back, per method.

Then (not with ``--quick``) whole sequences of the config's stages, measurement inline vs overlapped
(``overlap_measurement``: a forked process measures stage k while stage k+1 trains), against the bare
trainer over the same stages: the whole wall time, and each stage's *period* (its training start to the
next one's) against its bare training, the per-stage cost of a long sequence.

    python benchmarks/overhead.py            # 60 steps x 16 prompts per stage (configs/default.yaml)
    python benchmarks/overhead.py --quick    # 2 steps: the mechanics in < 1 min, ratios not meaningful

``--threads`` (default 1) sets torch's intra-op threads: ``accelerate launch`` (the documented
command) starts the run with ``OMP_NUM_THREADS=1`` on a CPU-only machine; ``--threads 1,2`` compares
(one column per method and thread count, interleaved in every round). ``OMP_WAIT_POLICY=PASSIVE``
is set unless the environment sets it (as ``forgetbench/run.py`` does).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads libgomp
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PIECES = ["learner_init", "base_eval", "train_stage", "save", "eval", "drift", "kl", "extras"]


def _timed(fn, sink: list):
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            sink.append(time.perf_counter() - t)
    return wrapper


def harness_round(cfg, method: str, model_path: str) -> dict:
    """One run_sequence of one stage; every piece's seconds and the total."""
    import forgetbench.loop.sequence as seq
    import forgetbench.loop.stage_measurer as sm
    from forgetbench.llm.learner import LLMLearner

    times: dict[str, list] = defaultdict(list)
    evals: list = []

    def make_learner():
        t = time.perf_counter()
        learner = LLMLearner(cfg, method, 0, model_path)
        times["learner_init"].append(time.perf_counter() - t)
        learner.evaluate = _timed(learner.evaluate, evals)
        for name, key in (("train_stage", "train_stage"), ("save", "save"), ("divergences", "kl"),
                          ("extras", "extras")):
            setattr(learner, name, _timed(getattr(learner, name), times[key]))
        return learner

    orig = sm.drift_report, sm.snapshot
    sm.drift_report, sm.snapshot = _timed(orig[0], times["drift"]), _timed(orig[1], times["drift"])
    try:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            results = seq.run_sequence(cfg.to_dict(), domain="llm", method=method, seed=0,
                                       tasks=cfg.stage_tasks(), run_dir=Path(d) / "run",
                                       make_learner=make_learner)
            total = time.perf_counter() - t
    finally:
        sm.drift_report, sm.snapshot = orig
    out = {k: sum(v) for k, v in times.items()}
    out["base_eval"], out["eval"] = evals[0], sum(evals[1:])
    out["total"] = total
    out["rest"] = total - sum(out[k] for k in PIECES)
    out["accuracy"] = results["accuracy"][-1]
    return out


def bare_round(cfg, method: str, model_path: str, stages: int = 1, per_stage: list | None = None) -> float:
    """The TRL trainer alone on the rows the learner would train on, ``stages`` stages in a row (each
    starting from the previous one's weights); seconds (each stage's appended to ``per_stage``)."""
    from datasets import Dataset
    from transformers import set_seed

    from forgetbench.llm.methods.grpo import train_grpo
    from forgetbench.llm.methods.sft import train_sft
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    model, tok = load_model_and_tokenizer(model_path)
    seed, total = 0, 0.0
    for stage, task_name in enumerate(cfg.tasks[:stages], start=1):
        task = get_task(task_name, **cfg.task_options.get(task_name, {}))
        n = cfg.max_steps * cfg.prompts_per_step
        rows = task.load("train").shuffle(seed=seed * 1000 + stage)
        rows = rows.select([i % len(rows) for i in range(n)])
        common = dict(steps=cfg.max_steps, seed=seed * 1000 + stage, activation_checkpointing=False)
        if method == "sft":
            rows = Dataset.from_dict({"prompt": rows["prompt"], "completion": rows["target"]})
        with tempfile.TemporaryDirectory() as tmp:
            set_seed(seed * 1000 + stage)
            t = time.perf_counter()
            if method == "sft":
                train_sft(model, tok, rows, batch_size=cfg.prompts_per_step, learning_rate=cfg.sft.learning_rate,
                          output_dir=tmp, **common)
            else:
                train_grpo(model, tok, task, rows, cfg.grpo, prompts_per_step=cfg.prompts_per_step,
                           output_dir=tmp, **common)
            total += time.perf_counter() - t
            if per_stage is not None:
                per_stage.append(time.perf_counter() - t)
    return total


def sequence_round(cfg, method: str, model_path: str, starts: list) -> float:
    """Wall seconds of a whole ``run_sequence`` (learner init, base evaluation, every stage); the time
    each stage's training starts is appended to ``starts`` (stage period = next start - this start)."""
    import forgetbench.loop.sequence as seq
    from forgetbench.llm.learner import LLMLearner

    def make_learner():
        learner = LLMLearner(cfg, method, 0, model_path)
        train = learner.train_stage

        def timed_train(*args):
            starts.append(time.perf_counter())
            return train(*args)

        learner.train_stage = timed_train
        return learner

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        seq.run_sequence(cfg.to_dict(), domain="llm", method=method, seed=0, tasks=cfg.stage_tasks(),
                         run_dir=Path(d) / "run", make_learner=make_learner)
        return time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 steps per stage (< 1 min; mechanics only)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (median; >= 3)")
    ap.add_argument("--steps", type=int, default=None, help="max_steps per stage (default: the config's, 60)")
    ap.add_argument("--methods", default="sft,grpo")
    ap.add_argument("--threads", default="1",
                    help="torch intra-op threads, comma-separated (default 1); several: one column each, "
                         "interleaved within every round")
    ap.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    ap.add_argument("--skip_sequence", action="store_true",
                    help="only the one-stage breakdown, not the whole-sequence wall times (--quick skips them too)")
    a = ap.parse_args(argv)
    repeats = max(3, a.repeats)
    methods = a.methods.split(",")
    threads = [int(t) for t in a.threads.split(",")]

    import torch
    from accelerate import PartialState

    from forgetbench.config.schema import load_config
    from forgetbench.llm.base_model.load import resolve_model_path
    from forgetbench.plugins.registry import discover

    PartialState(cpu=not torch.cuda.is_available())
    discover()
    steps = a.steps or (2 if a.quick else None)
    argv_cfg = ["--config", a.config] + (["--max_steps", str(steps)] if steps else [])
    # the breakdown times each piece by wrapping the learner's methods: measurement inline
    cfgs = {m: load_config(argv_cfg + ["--max_stages", "1", "--methods", m, "--overlap_measurement", "false"])
            for m in methods}
    seq_cfgs = {(m, mode): load_config(argv_cfg + ["--methods", m, "--overlap_measurement", mode])
                for m in methods for mode in ("false", "true")}
    model_path = resolve_model_path(cfgs[methods[0]].model_name_or_path)

    cols = [(m, n) for n in threads for m in methods]
    name = {(m, n): m if len(threads) == 1 else f"{m}, {n} thr" for m, n in cols}
    runs: dict[tuple, list] = {c: [] for c in cols}
    bare: dict[tuple, list] = {c: [] for c in cols}
    seqs: dict[tuple, dict] = {c: defaultdict(list) for c in cols}
    for r in range(repeats):
        for c in cols:
            torch.set_num_threads(c[1])
            with contextlib.redirect_stdout(sys.stderr):   # trainer logs and stage lines off the table
                runs[c].append(harness_round(cfgs[c[0]], c[0], model_path))
                bare[c].append(bare_round(cfgs[c[0]], c[0], model_path))
            print(f"[round {r + 1}/{repeats}] {name[c]}: harness {runs[c][-1]['total']:.2f}s "
                  f"(train_stage {runs[c][-1]['train_stage']:.2f}s), bare trainer {bare[c][-1]:.2f}s",
                  file=sys.stderr, flush=True)
            if a.skip_sequence or a.quick:
                continue
            with contextlib.redirect_stdout(sys.stderr):
                for mode in ("false", "true"):
                    starts: list = []
                    seqs[c][mode].append(sequence_round(seq_cfgs[c[0], mode], c[0], model_path, starts))
                    seqs[c][mode + "_periods"].append([b - a for a, b in zip(starts, starts[1:])])
                bare_stages: list = []
                seqs[c]["bare"].append(bare_round(seq_cfgs[c[0], "false"], c[0], model_path,
                                                  len(seq_cfgs[c[0], "false"].tasks), bare_stages))
                seqs[c]["bare_stages"].append(bare_stages)
            print(f"[round {r + 1}/{repeats}] {name[c]}: sequence inline {seqs[c]['false'][-1]:.2f}s, "
                  f"overlapped {seqs[c]['true'][-1]:.2f}s, bare trainer {seqs[c]['bare'][-1]:.2f}s",
                  file=sys.stderr, flush=True)

    med = {c: {k: statistics.median(x[k] for x in runs[c]) for k in PIECES + ["rest", "total"]}
           for c in cols}
    for c in cols:
        med[c]["bare"] = statistics.median(bare[c])
        per_round = [x["train_stage"] - y + x["eval"] + x["drift"] + x["kl"] + x["save"] + x["extras"] + x["rest"]
                     for x, y in zip(runs[c], bare[c])]
        med[c]["per_stage_extra"] = statistics.median(per_round)
        med[c]["per_stage_frac"] = statistics.median(p / y for p, y in zip(per_round, bare[c]))
        one = [x["learner_init"] + x["base_eval"] for x in runs[c]]
        med[c]["one_time"] = statistics.median(one)
        med[c]["end_to_end_frac"] = statistics.median((x["total"] - y) / y for x, y in zip(runs[c], bare[c]))
        # the default experiment: 3 stages per sequence, one-time costs once
        med[c]["three_stage_frac"] = statistics.median(
            (3 * p + o) / (3 * y) for p, o, y in zip(per_round, one, bare[c]))

    c0 = cfgs[methods[0]]
    print(f"harness overhead: embedded base {c0.model_name_or_path}, stage 1 = {c0.stage_tasks()[0]}, "
          f"{c0.max_steps} steps x {c0.prompts_per_step} prompts, {len(c0.tasks) + len(c0.prior_tasks)} tasks "
          f"evaluated, KL on {c0.kl.n_prompts} prompts x {c0.kl.n_samples} samples; torch threads {a.threads} "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}); "
          f"median of {repeats} rounds (seconds)")
    rows = [("bare TRL trainer (baseline)", "bare"), ("harness train_stage", "train_stage"),
            ("stage evaluation (all tasks)", "eval"), ("drift (snapshot + drift_report)", "drift"),
            ("KL (divergences)", "kl"), ("checkpoint save", "save"), ("extras", "extras"),
            ("results.json, metrics, rest", "rest"),
            ("per-stage extra (incl. train_stage - bare)", "per_stage_extra"),
            ("one-time: learner init (2 model loads, eval sets)", "learner_init"),
            ("one-time: base evaluation", "base_eval"), ("harness total, one stage", "total")]
    print("| | " + " | ".join(name[c] for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, key in rows:
        print(f"| {label} | " + " | ".join(f"{med[c][key]:.2f}" for c in cols) + " |")
    for label, key in (("per-stage extra / bare (goal <= 15%)", "per_stage_frac"),
                       ("(one-stage harness total - bare) / bare", "end_to_end_frac"),
                       ("3-stage sequence extra / bare (one-time costs once)", "three_stage_frac")):
        print(f"| **{label}** | " + " | ".join(f"{100 * med[c][key]:.0f}%" for c in cols) + " |")
    if not (a.skip_sequence or a.quick):
        _print_sequences(seqs, cols, name, seq_cfgs[methods[0], "false"])
    for c in cols:
        acc = runs[c][-1]["accuracy"]
        print(f"  {name[c]}: accuracy after the stage (last round): " + ", ".join(f"{v:.3f}" for v in acc))
    return med


def _print_sequences(seqs, cols, name, cfg) -> None:
    """The whole-sequence table: wall time inline vs overlapped vs the bare trainer over all stages."""
    n = len(cfg.tasks)
    print(f"\nwhole sequence: {n} stages ({', '.join(cfg.tasks)}), learner init and base evaluation "
          f"included; median of {len(seqs[cols[0]]['bare'])} rounds (seconds)")
    print("| | " + " | ".join(name[c] for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for label, key in ((f"bare TRL trainer, {n} stages (baseline)", "bare"),
                       ("harness, measurement inline (overlap_measurement: false)", "false"),
                       ("harness, measurement overlapped (overlap_measurement: true)", "true")):
        print(f"| {label} | " + " | ".join(f"{statistics.median(seqs[c][key]):.2f}" for c in cols) + " |")
    for label, key in (("whole sequence: extra / bare, inline", "false"),
                       ("whole sequence: extra / bare, overlapped", "true")):
        fr = [statistics.median((h - b) / b for h, b in zip(seqs[c][key], seqs[c]["bare"])) for c in cols]
        print(f"| **{label}** | " + " | ".join(f"{100 * f:.0f}%" for f in fr) + " |")
    # a stage followed by another: its period (training start to the next training start) vs its bare
    # training; with overlap this is the per-stage cost of a long sequence (the last stage's
    # measurement and the one-time costs are not in it)
    for label, key in (("stage 1..n-1: (period - bare) / bare, inline", "false_periods"),
                       ("stage 1..n-1: (period - bare) / bare, overlapped (goal <= 15%)", "true_periods")):
        fr = [statistics.median((p - b) / b for ps, bs in zip(seqs[c][key], seqs[c]["bare_stages"])
                                for p, b in zip(ps, bs)) for c in cols]
        print(f"| **{label}** | " + " | ".join(f"{100 * f:.0f}%" for f in fr) + " |")


if __name__ == "__main__":
    main()
