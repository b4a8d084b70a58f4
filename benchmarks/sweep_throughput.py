"""Sweep throughput: a razor-lite-sized sweep run serially vs on Ray with 2 workers on 2 cores.

The sweep: ``embedded:tiny``, one new task (``sum_to``) after the prior skills, SFT and GRPO each at
two learning rates, two seeds (8 runs; ``--quick``: 1 seed and fewer steps, 4 runs). Three ways:
``serial`` = ``python forgetbench/run.py --threads 1`` (the documented default: one run after
another, each stage's measurement overlapped with the next stage's training on the second core);
``serial_1core`` = the same with ``--overlap_measurement false`` (one process, one core); ``ray`` =
``--launcher ray`` (a local instance, one CPU per run, 2 runs at a time). Each round runs all three,
rotating which goes first, into fresh directories; reports the median wall time of each, the
ratios, and checks that all gave the same numbers in every ``results.json``.

    python benchmarks/sweep_throughput.py             # about 4 min on 2 cores
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


KINDS = {"serial": [], "serial_1core": ["--overlap_measurement", "false"], "ray": ["--launcher", "ray"]}


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
    ap.add_argument("--quick", action="store_true", help="1 seed, 10 steps per stage (4 runs; Ray start-up dominates)")
    ap.add_argument("--repeats", type=int, default=1, help="rounds (each runs both; median reported)")
    a = ap.parse_args(argv)
    seeds, steps = ([0], 10) if a.quick else ([0, 1], 120)
    tmp = Path(tempfile.mkdtemp(prefix="sweep-throughput-"))
    config = tmp / "sweep.yaml"
    config.write_text(SWEEP.format(seeds=seeds, steps=steps))
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    same = True
    for r in range(a.repeats):
        kinds = list(KINDS)
        for kind in kinds[r % 3:] + kinds[:r % 3]:
            times[kind].append(_run(config, tmp / f"{kind}{r}", kind))
            print(f"  round {r + 1}: {kind} {times[kind][-1]:.1f} s", flush=True)
        same = same and _numbers(tmp / f"serial{r}") == _numbers(tmp / f"ray{r}") == _numbers(tmp / f"serial_1core{r}")
    med = {k: statistics.median(v) for k, v in times.items()}
    runs = len(seeds) * 4
    print(f"sweep throughput: {runs} runs ({steps} steps x 16 prompts), median of {a.repeats} round(s), {os.cpu_count()} cores")
    print(f"  serial (1 torch thread, measurement overlapped on the 2nd core): {med['serial']:.1f} s")
    print(f"  serial_1core (1 torch thread, no overlap: one core): {med['serial_1core']:.1f} s")
    print(f"  ray (one CPU per run, local instance): {med['ray']:.1f} s")
    print(f"  speed-up vs serial: {med['serial'] / med['ray']:.2f}x   vs serial_1core: "
          f"{med['serial_1core'] / med['ray']:.2f}x   (goal >= 1.7x)   same numbers in every results.json: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
