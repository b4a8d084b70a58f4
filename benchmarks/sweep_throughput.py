"""Sweep throughput: a razor-lite sweep run serially vs on Ray with 2 workers on 2 cores.

The sweep: ``configs/razor_lite.yaml`` (60 runs: SFT, GRPO and RFT over 4 budgets x 5 seeds, one stage;
``--config`` another). ``--small``: a built-in 8-run sweep of longer runs (``sum_to``, SFT and GRPO at
two learning rates, 2 seeds, 120 steps); ``--quick``: the same with 1 seed and 10 steps (4 runs).
Up to three ways (``--kinds``): ``serial`` = ``python forgetbench/run.py --threads 1`` (one run after
another; each stage's measurement overlapped with the next stage's training on the second core, which
a one-stage sweep has nothing to overlap with); ``serial_1core`` = the same with
``--overlap_measurement false`` (one process, one core); ``ray`` = ``--launcher ray`` (a local instance,
one CPU per run, 2 runs at a time). Each round runs each way, rotating which goes first, into fresh
directories; reports the median wall time of each, the ratios, and checks that all gave the same
numbers in every ``results.json``.

    python benchmarks/sweep_throughput.py             # 3 rounds, about 13 min on 2 cores
    python benchmarks/sweep_throughput.py --small --kinds serial,serial_1core,ray   # about 5 min
    python benchmarks/sweep_throughput.py --quick     # under a minute
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAZOR_LITE = ROOT / "configs" / "razor_lite.yaml"
SWEEP = """experiment: sweep_throughput
model_name_or_path: embedded:tiny
tasks: [sum_to]
prior_tasks: [copy, reverse, add]
methods: [sft, grpo]
seeds: {seeds}
max_steps: {steps}
prompts_per_step: 16
threads: 1
grpo: {{num_generations: 4}}
kl: {{n_prompts: 16, n_samples: 1}}
sweep:
  - {{method: sft, grid: {{sft.learning_rate: [1.0e-4, 3.0e-4]}}}}
  - {{method: grpo, grid: {{grpo.learning_rate: [3.0e-5, 1.0e-4]}}}}
"""
VOLATILE = {"timing", "base_eval_seconds", "config"}


KINDS = {"serial": ["--threads", "1"], "serial_1core": ["--threads", "1", "--overlap_measurement", "false"],
         "ray": ["--launcher", "ray"]}
SAYS = {"serial": "serial (1 torch thread, measurement overlapped on the 2nd core)",
        "serial_1core": "serial_1core (1 torch thread, no overlap: one core)",
        "ray": "ray (one CPU per run, local instance)"}


def _run(config: Path, out: Path, kind: str) -> float:
    cmd = [sys.executable, str(ROOT / "forgetbench" / "run.py"), "--config", str(config), "--output_dir", str(out)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline", CI="true")
    t = time.perf_counter()
    p = subprocess.run(cmd + KINDS[kind], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"sweep_throughput: {kind} run failed:\n{p.stderr[-2000:]}")
    return time.perf_counter() - t


def _numbers(out: Path) -> dict:
    return {p.parent.relative_to(out).as_posix(): {k: v for k, v in json.loads(p.read_text()).items() if k not in VOLATILE}
            for p in sorted(out.rglob("results.json"))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=RAZOR_LITE, help="the sweep (default configs/razor_lite.yaml)")
    ap.add_argument("--small", action="store_true", help="the built-in 8-run sweep of 120-step runs instead")
    ap.add_argument("--quick", action="store_true", help="the built-in sweep at 1 seed, 10 steps (4 runs; Ray "
                    "start-up dominates)")
    ap.add_argument("--kinds", default="serial,ray", help="comma-separated from: " + ", ".join(KINDS))
    ap.add_argument("--repeats", type=int, help="rounds (each runs every kind; median reported); default 3, "
                    "1 with --quick")
    a = ap.parse_args(argv)
    a.repeats = a.repeats or (1 if a.quick else 3)
    kinds = a.kinds.split(",")
    if not kinds or set(kinds) - set(KINDS):
        ap.error(f"--kinds: choose from {', '.join(KINDS)}")
    tmp = Path(tempfile.mkdtemp(prefix="sweep-throughput-"))
    config = a.config.resolve()
    if a.small or a.quick:
        config = tmp / "sweep.yaml"
        config.write_text(SWEEP.format(seeds=[0] if a.quick else [0, 1], steps=10 if a.quick else 120))
    times: dict[str, list[float]] = {k: [] for k in kinds}
    same = True
    for r in range(a.repeats):
        for kind in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            times[kind].append(_run(config, tmp / f"{kind}{r}", kind))
            print(f"  round {r + 1}: {kind} {times[kind][-1]:.1f} s", flush=True)
        numbers = [_numbers(tmp / f"{kind}{r}") for kind in kinds]
        same = same and all(n == numbers[0] for n in numbers)
    med = {k: statistics.median(v) for k, v in times.items()}
    runs = len(numbers[0])
    print(f"sweep throughput: {config.name if config.parent != tmp else 'built-in sweep'}, {runs} runs, "
          f"median of {a.repeats} round(s), {os.cpu_count()} cores")
    for kind in kinds:
        print(f"  {SAYS[kind]}: {med[kind]:.1f} s")
    if "ray" in med:
        ratios = "   ".join(f"vs {k}: {med[k] / med['ray']:.2f}x" for k in kinds if k != "ray")
        print(f"  speed-up {ratios}   (goal >= 1.7x)")
    print(f"  same numbers in every results.json: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
