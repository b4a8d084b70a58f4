"""The front door and the documentation site: README.md stays short and keeps the test command CI
extracts; the MkDocs site (mkdocs.yml, docs/) builds in strict mode (no broken link, anchor or
missing page)."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEST_COMMAND = 'pip install -e ".[dev]" && pip install --no-deps obp && python -m pytest'
# The extraction .ci/run applies to README.md, verbatim.
EXTRACT = "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md | grep -v '^<!--' | grep -v '^```'"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; the front door keeps to 250 (the manual is in docs/)"


def test_readme_test_command_extraction():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert EXTRACT in ci, ".ci/run no longer extracts the test command the way this test checks it"
    if shutil.which("sed") is None or shutil.which("grep") is None or shutil.which("bash") is None:
        pytest.skip("sed, grep or bash not on PATH: cannot run .ci/run's extraction")
    out = subprocess.run(["bash", "-c", EXTRACT], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [TEST_COMMAND], f"README.md's test-command block yields {out!r}"


def test_mkdocs_build_strict(tmp_path):
    missing = [m for m in ("mkdocs", "material") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: pip install -e '.[test]' installs mkdocs and "
                    f"mkdocs-material for the docs build")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()


def test_methods_page_holds_the_registrys_table():
    from forgetbench.plugins.methods import methods_table

    page = (ROOT / "docs" / "methods.md").read_text(encoding="utf-8")
    block = page.split("<!-- methods-table -->")[1].split("<!-- /methods-table -->")[0]
    assert block.strip() == methods_table().strip(), "docs/methods.md: regenerate the methods table from the registry"


def readme_block(marker: str) -> str:
    """The code between ``<!-- marker -->`` and ``<!-- /marker -->`` in README.md, fences dropped."""
    text = README.read_text(encoding="utf-8")
    block = text.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    return "\n".join(line for line in block.strip().splitlines() if not line.startswith("```")) + "\n"


def test_readme_library_example_runs_as_written(tmp_path):
    """The README's TRL example (≤ 25 lines) runs on the CPU as written: the callback's rows at steps 0, 10,
    20, 30, 40, and the last one equals ``forgetbench measure`` with the options the README gives."""
    code = readme_block("library-example")
    assert len(code.splitlines()) <= 25, "the README's library example keeps to 25 lines"
    script = tmp_path / "example.py"
    script.write_text(code + "import json\njson.dump(callback.history, open('history.json', 'w'))\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", WANDB_MODE="offline", PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    import json

    history = json.loads((tmp_path / "history.json").read_text())
    assert [h["step"] for h in history] == [0, 10, 20, 30, 40]
    assert p.stdout.count("{'step': ") == 5  # the printed rows
    text = README.read_text(encoding="utf-8")
    command = text.split("`forgetbench measure\n--base")[1].split("`")[0].split()
    from forgetbench.cli import main

    os.chdir(tmp_path)  # the README's relative out/final
    try:
        assert main(["measure", "--base", *command, "--out", "m.json"]) == 0
    finally:
        os.chdir(ROOT)
    m = json.loads((tmp_path / "m.json").read_text())
    assert history[-1]["forgetting/copy"] == m["accuracy"]["model"]["copy"]
    assert history[-1]["forgetting/old_task_decline"] == pytest.approx(m["old_task_decline"], abs=1e-12)
