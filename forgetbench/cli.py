"""The ``forgetbench`` command.

    forgetbench run --config smoke [--field value ...]                # = python forgetbench/run.py
    forgetbench configs                                               # the shipped experiments
    forgetbench report DIR [DIR ...] [--out OUT]                      # one report over several dirs
    forgetbench tasks [--include_path DIR ...]                        # the registered tasks
    forgetbench show RUN_DIR                                          # one run in the terminal
    forgetbench measure --base B --model M [--tasks ...] [--out F]    # what fine-tuning B into M forgot

``accelerate launch forgetbench/run.py …`` keeps working for several processes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

COMMANDS = {"run": "train and measure the runs of a config (same flags as forgetbench/run.py)",
            "report": "write one report.md over the results.json files of one or more directories",
            "tasks": "list the registered tasks (built-in and plug-ins)",
            "show": "print one run's accuracy matrix and stage lines",
            "configs": "list the shipped experiments (--config NAME runs one)",
            "measure": "accuracy, decline, forgetting events, drift and KL of a model against its base"}


def _tasks(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="forgetbench tasks", description=COMMANDS["tasks"])
    ap.add_argument("--include_path", nargs="*", default=[], help="directories of plug-in tasks")
    args = ap.parse_args(argv)
    from forgetbench.errors import ForgetbenchError
    from forgetbench.plugins.registry import describe_tasks, discover

    try:
        discover(args.include_path)
    except ForgetbenchError as e:
        print(f"forgetbench: error: {e}", file=sys.stderr)
        return 2
    print("\n".join(describe_tasks()))
    return 0


def matrix_lines(results: dict) -> list[str]:
    """The accuracy matrix as aligned text: one row per stage (base first), one column per task."""
    tasks, width = results["tasks"], max(8, *(len(t) for t in results["tasks"]))
    head = " " * 14 + "".join(f"{t:>{width + 1}}" for t in tasks)
    rows = [f"{stage[:14]:<14}" + "".join(f"{v:>{width + 1}.3f}" for v in accs)
            for stage, accs in zip(results["stages"], results["accuracy"])]
    return [head] + rows


def _show(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="forgetbench show", description=COMMANDS["show"])
    ap.add_argument("run_dir", help="a run directory (holding results.json) or the results.json itself")
    args = ap.parse_args(argv)
    path = Path(args.run_dir)
    path = path / "results.json" if path.is_dir() else path
    try:
        r = json.loads(path.read_text())
        from forgetbench.loop.sequence import summary_line

        trained = len(r["stages"]) - 1
        lines = [f"{r.get('experiment', '?')}: {r['method']} seed {r['seed']}, {trained} stage(s) trained, "
                 f"{'complete' if r.get('complete') else 'incomplete'} — {path}", ""]
        lines += matrix_lines(r) + [""]
        lines += [summary_line(r, k, len(r["config"]["tasks"])) for k in range(1, trained + 1)]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        print(f"forgetbench: error: {path} is not a readable results.json ({type(e).__name__}: {e})",
              file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        width = max(map(len, COMMANDS))
        print("usage: forgetbench {run,report,tasks,show,configs,measure} ...\n\n" + __doc__.split("\n\n")[0] + "\n\ncommands:\n"
              + "\n".join(f"  {c:<{width}}  {h}" for c, h in COMMANDS.items()))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"forgetbench: error: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        from forgetbench.run import main as run_main

        if rest in (["-h"], ["--help"]):
            print("usage: forgetbench run [--config FILE|NAME] [--FIELD VALUE ...] [--verbose] [--debug]\n\n"
                  + COMMANDS["run"] + ".\nEvery config field is a flag (nested ones with a dot: "
                  "--grpo.learning_rate 5e-5); --list_tasks lists tasks. See README.")
            return 0
        return run_main(rest)
    if command == "report":
        from forgetbench.report import main as report_main

        return report_main(rest, prog="forgetbench report")
    if command == "measure":
        from forgetbench.llm.measure import main as measure_main

        return measure_main(rest)
    if command == "configs":
        from forgetbench.config.named import describe_configs

        if rest:
            print("usage: forgetbench configs\n\n" + COMMANDS["configs"] + " (the YAML files under "
                  "forgetbench/configs/, each with its first comment line).")
            return 0 if rest[0] in ("-h", "--help") else 2

        print("\n".join(describe_configs()))
        return 0
    return _tasks(rest) if command == "tasks" else _show(rest)


if __name__ == "__main__":
    sys.exit(main())
