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
