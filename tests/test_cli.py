"""The ``forgetbench`` command: every subcommand's help, a report over two directories, show, tasks."""
import json
import subprocess
import sys

import pytest

from forgetbench.cli import COMMANDS, main
from test_report import REPO, RUNS, _table_rows, _write_runs


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_subcommand_has_help(command, capsys):
    try:
        rc = main([command, "--help"])
    except SystemExit as e:  # argparse's own --help
        rc = e.code
    out = capsys.readouterr().out
    assert rc == 0 and f"forgetbench {command}" in out and COMMANDS[command].split()[0].lower() in out.lower()


def test_top_level_help_and_unknown_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {c} " in out for c in COMMANDS)
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_report_over_two_directories_equals_one(tmp_path):
    """Runs of one experiment gathered from two machines (sft on one, grpo on the other) make the
    same summary table as the runs in one directory."""
    _write_runs(tmp_path / "machine_a", {k: v for k, v in RUNS.items() if k[0] == "sft"})
    _write_runs(tmp_path / "machine_b", {k: v for k, v in RUNS.items() if k[0] == "grpo"})
    _write_runs(tmp_path / "together", RUNS)
    assert main(["report", str(tmp_path / "machine_a"), str(tmp_path / "machine_b"),
                 "--out", str(tmp_path / "gathered")]) == 0
    assert main(["report", str(tmp_path / "together")]) == 0
    gathered = (tmp_path / "gathered" / "report.md").read_text()
    one = (tmp_path / "together" / "report.md").read_text()
    assert "4 runs from" in gathered and "machine_a" in gathered and "machine_b" in gathered
    assert _table_rows(gathered, "method") == _table_rows(one, "method")
    assert _table_rows(gathered, "method")["sft"]["avg_accuracy"] == "0.300 ± 1.271"
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_show_prints_matrix_and_stage_lines(tmp_path, capsys):
    _write_runs(tmp_path, {("sft", 0): RUNS[("sft", 0)]})
    assert main(["show", str(tmp_path / "sft" / "seed0")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("toy: sft seed 0, 2 stage(s) trained")
    assert lines[2].split() == ["copy", "reverse", "a", "b"]
    assert lines[3].split() == ["base", "1.000", "1.000", "0.200", "0.100"]
    assert lines[5].split() == ["b", "0.600", "0.700", "0.500", "1.000"]
    # stage 1: new task a = 0.9, decline 0.10, drift 0.05, KL 5.0, 10 + 1 + 2 seconds
    assert lines[7] == ("[sft seed0] stage 1/2 a: new-task acc 0.900  old-task decline 0.100  "
                        "rel. drift 5.0e-02  fwd KL 5.000  13.0s")
    (tmp_path / "bad.json").write_text(json.dumps({"stages": 3}))
    assert main(["show", str(tmp_path / "bad.json")]) == 2
    assert "bad.json is not a readable results.json" in capsys.readouterr().err


def test_tasks_lists_plugins(tmp_path):
    (tmp_path / "my_task.py").write_text(
        "from forgetbench import Task, register_task\n"
        "@register_task\nclass Echo(Task):\n    name = 'echo_cli'\n    description = 'plug-in: echo'\n"
        "    def make_example(self, rng):\n        return {'prompt': 'e:', 'answer': 'x', 'target': 'x'}\n"
        "    def score(self, completion, example):\n        return 1.0\n")
    p = subprocess.run([sys.executable, "-m", "forgetbench.cli", "tasks", "--include_path", str(tmp_path)],
                       capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert "echo_cli\tplug-in: echo" in p.stdout and "even_between\t" in p.stdout
