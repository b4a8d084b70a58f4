"""Entry point: ``accelerate launch forgetbench/run.py --config configs/default.yaml [--field value ...]``
in a checkout, ``accelerate launch -m forgetbench.run --config default`` or ``forgetbench run`` anywhere.

``--config`` takes a YAML path or a shipped experiment's name (``forgetbench configs`` lists them);
without it the run is exactly ``default``. Parses the config, discovers tasks, runs every (method,
seed) sequence, writes the report. Bad input exits with code 2 and one line naming the culprit
(``--debug`` shows the traceback).
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



def with_config_file(argv: list[str]) -> list[str]:
    """``argv`` with its ``--config`` value resolved to a file (a path or a shipped name); the shipped
    ``default`` when there is none."""
    from forgetbench.config.named import DEFAULT, resolve_config

    argv = list(argv)
    for i, a in enumerate(argv):
        if a == "--config" and i + 1 < len(argv):
            argv[i + 1] = str(resolve_config(argv[i + 1]))
            return argv
        if a.startswith("--config="):
            argv[i] = "--config=" + str(resolve_config(a.partition("=")[2]))
            return argv
    return ["--config", str(resolve_config(DEFAULT))] + argv


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    from forgetbench.errors import ForgetbenchError

    try:
        from forgetbench.launch.experiment import run_experiment

        return run_experiment(with_config_file(argv))
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
