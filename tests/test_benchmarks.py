"""The benchmark scripts parse their options (each --help in its own process; the benchmarks
themselves are run by hand, see benchmarks/README.md)."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = ["eval_throughput.py", "overhead.py", "drift_cost.py", "recsys_throughput.py", "sweep_throughput.py",
           "forgetting_callback.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    r = subprocess.run([sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True,
                       timeout=120, cwd=BENCH.parent)
    assert r.returncode == 0, r.stderr
    assert "--quick" in r.stdout and "--repeats" in r.stdout
