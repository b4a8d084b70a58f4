"""Test environment: no hub, no W&B server, a private cache for the micro base."""
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # no spinning threads on a shared 2-core machine
os.environ.setdefault("FORGETBENCH_CACHE", str(Path(__file__).resolve().parent.parent / ".cache" / "test-bases"))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# What runs keep from the base (llm/eval/base_cache.py) is not reused from an earlier session's (older) code.
for kept in ("base-eval", "base-draws", "base-spectra"):  # base_cache.EVAL, DRAWS, SPECTRA
    shutil.rmtree(Path(os.environ["FORGETBENCH_CACHE"]) / kept, ignore_errors=True)


@pytest.fixture(scope="session")
def micro_base_path():
    from forgetbench.llm.base_model.load import resolve_model_path

    return resolve_model_path("embedded:micro")
