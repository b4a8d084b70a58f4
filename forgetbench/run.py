"""Entry point: ``accelerate launch forgetbench/run.py --config configs/default.yaml [--field value ...]``.

Parses the config, discovers tasks, runs every (method, seed) sequence, writes the report.
Bad input exits with code 2 and one line naming the culprit (``--debug`` shows the traceback).
"""
from __future__ import annotations

import os
import sys

# Read once, when torch loads libgomp. Its default spin-waiting makes torch's intra-op threads burn
# their time slices waiting for a thread the kernel has parked whenever other processes share the
# CPU: `python forgetbench/run.py --methods sft --max_stages 1` (2 threads, 2 shared cores) took a
# median 155 s instead of 25 s (benchmarks/README.md). Passive waiting does not change any result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

if __name__ == "__main__" and os.path.dirname(os.path.abspath(__file__)) in map(os.path.abspath, sys.path):
    sys.path[:] = [p for p in sys.path if os.path.abspath(p) != os.path.dirname(os.path.abspath(__file__))]

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "default.yaml")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    from forgetbench.errors import ForgetbenchError

    try:
        from forgetbench.launch.experiment import run_experiment

        if "--config" not in argv and os.path.exists(DEFAULT_CONFIG):
            argv = ["--config", os.path.normpath(DEFAULT_CONFIG)] + argv
        return run_experiment(argv)
    except ForgetbenchError as e:
        if debug:
            raise
        print(f"forgetbench: error: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("forgetbench: interrupted; finished stages are kept — rerun the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        dist = sys.modules.get("torch.distributed")   # loaded only if a run began (an early error exits at once)
        if dist is not None and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
