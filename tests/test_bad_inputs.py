"""Catalogue of bad inputs: each is answered by exit code 2 and one line naming the culprit (file,
field, task, line), without a traceback unless ``--debug``, and nothing already computed is lost."""
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = str(ROOT / "forgetbench" / "run.py")
SMOKE = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--methods", "sft", "--max_steps", "1"]
PLUGIN = '''
from forgetbench import Task, register_task

@register_task
class {cls}(Task):
    name = "{name}"
    max_new_tokens = 3
    n_eval = 8
    def make_example(self, rng):
        x = str(rng.randint(0, 99))
        return {example}
    def score(self, completion, example):
        return {score}
    def reward(self, completion, example):
        return {reward}
'''


def plugin(d: Path, file="bad.py", cls="Bad", name="bad_task", example='{"prompt": "p" + x + ":", '
           '"answer": x, "target": x}', score="float(completion.strip() == example['answer'])",
           reward="self.score(completion, example)", text=None) -> list[str]:
    """Write a task plug-in into ``d/plugins``; the argv that trains it alone."""
    (d / "plugins").mkdir(exist_ok=True)
    (d / "plugins" / file).write_text(text or PLUGIN.format(cls=cls, name=name, example=example, score=score,
                                                            reward=reward))
    return ["--include_path", str(d / "plugins"), "--tasks", name, "--prior_tasks"]


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def cli(argv, pre=None):
    """Run ``python forgetbench/run.py ARGV`` (``pre``: Python to run first in that process)."""
    cmd = [sys.executable, RUN, *argv]
    if pre:
        cmd = [sys.executable, "-c", f"import runpy, sys\n{pre}\nsys.argv = {[RUN, *argv]!r}\n"
                                     f"runpy.run_path({RUN!r}, run_name='__main__')"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def assert_one_clear_line(p, pattern: str) -> str:
    assert p.returncode == 2, p.stderr[-3000:]
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    lines = [line for line in p.stderr.splitlines() if line.startswith("forgetbench: error:")]
    assert len(lines) == 1 and re.search(pattern, lines[0]), p.stderr[-3000:]
    return lines[0]


CASES = {  # id: (argv builder taking a temporary directory, pattern the one error line must match)
    "malformed_yaml": (lambda d: ["--config", write(d / "c.yaml", "experiment: x\ntasks: [a, b\nseeds: [0]\n")],
                       r"config file '.*c\.yaml': line 3, column \d+: malformed YAML"),
    "missing_config": (lambda d: ["--config", str(d / "nope.yaml")], r"config file '.*nope\.yaml' not found"),
    "unknown_field_yaml": (lambda d: ["--config", write(d / "c.yaml", "experiment: x\nsft:\n  learnin_rate: 1\n")],
                           r"c\.yaml': line 3: unknown config field 'sft\.learnin_rate' "
                           r"\(did you mean sft\.learning_rate\?\)"),
    "unknown_recsys_field_yaml": (lambda d: ["--config", write(d / "c.yaml", "domain: recsys\nrecsys:\n  dimm: 4\n")],
                                  r"c\.yaml': line 3: unknown config field 'recsys\.dimm' \(did you mean recsys\.dim\?\)"),
    "unknown_field_cli": (lambda d: SMOKE + ["--max_stepz", "3"],
                          r"unknown config field 'max_stepz' \(did you mean --max_steps\?\)"),
    "wrong_type_yaml": (lambda d: ["--config", write(d / "c.yaml", "experiment: x\nmax_steps: '12'\n")],
                        r"c\.yaml': line 2: config field 'max_steps': expected int, got '12'"),
    "wrong_type_cli": (lambda d: SMOKE + ["--max_steps", "ten"], r"config field 'max_steps': expected int, got 'ten'"),
    "empty_tasks": (lambda d: SMOKE + ["--tasks"], r"config: tasks is empty"),
    "unknown_task": (lambda d: SMOKE + ["--output_dir", str(d / "o"), "--tasks", "sumto"],
                     r"unknown task 'sumto'; did you mean sum_to\?"),
    "unknown_method": (lambda d: SMOKE + ["--methods", "sfft"], r"unknown method 'sfft' \(did you mean sft\b"),
    "negative_max_steps": (lambda d: SMOKE + ["--max_steps", "-3"], r"max_steps must be a positive integer, got -3"),
    "bad_seeds": (lambda d: SMOKE + ["--seeds", "1", "-1"], r"seeds must be a non-empty list of distinct "
                                                             r"non-negative integers, got \[1, -1\]"),
    "missing_model_path": (lambda d: SMOKE + ["--output_dir", str(d / "o"), "--model_name_or_path", str(d / "nomodel")],
                           r"model path '.*nomodel' does not exist"),
    "missing_teacher_path": (lambda d: SMOKE + ["--output_dir", str(d / "o"), "--methods", "kd", "--kd.teacher",
                                                str(d / "noteacher")],
                             r"config field 'kd\.teacher': model path '.*noteacher' does not exist"),
    "unknown_teacher": (lambda d: SMOKE + ["--output_dir", str(d / "o"), "--methods", "opd", "--opd.teacher",
                                           str(d / "afile")],
                        r"config field 'opd\.teacher': cannot load '.*afile' \(give 'expert' or a model path\)"),
    "missing_include_path": (lambda d: SMOKE + ["--include_path", str(d / "nope")],
                             r"include_path '.*nope' is not a directory"),
    "plugin_raises_at_import": (lambda d: plugin(d, file="broken.py", text="raise RuntimeError('boom')\n"),
                                r"plug-in .*broken\.py failed to import: RuntimeError: boom"),
    "duplicate_task_names": (lambda d: plugin(d, file="a.py", cls="A") + plugin(d, file="b.py", cls="B"),
                             r"duplicate task name 'bad_task': defined in .*a\.py and in .*b\.py"),
    "make_example_missing_key": (lambda d: plugin(d, example='{"prompt": x, "answer": x}'),
                                 r"task 'bad_task': make_example returned no \['target'\] key"),
    "score_nan": (lambda d: plugin(d, score="float('nan')"), r"task 'bad_task': score\(\) returned nan, outside \[0, 1\]"),
    "score_out_of_range": (lambda d: plugin(d, score="2.5"), r"task 'bad_task': score\(\) returned 2\.5, outside"),
    "score_not_a_number": (lambda d: plugin(d, score="'yes'"), r"task 'bad_task': score\(\) returned 'yes' \(str\)"),
    "score_raises": (lambda d: plugin(d, score="1 / 0"),
                     r"task 'bad_task': score\(\) raised ZeroDivisionError: division by zero"),
    "reward_not_a_number": (lambda d: plugin(d, reward="None"), r"task 'bad_task': reward\(\) returned None"),
    "bad_overlap_measurement": (lambda d: SMOKE + ["--overlap_measurement", "sometimes"],
                                r"overlap_measurement must be auto, true or false, got 'sometimes'"),
    "output_dir_not_writable": (lambda d: SMOKE + ["--output_dir", str(d / "afile" / "sub")],
                                r"output_dir '.*afile/sub' cannot be written"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_clear_line(case, tmp_path):
    build, pattern = CASES[case]
    (tmp_path / "afile").write_text("a regular file, not a directory\n")
    argv = build(tmp_path)
    assert_one_clear_line(cli(argv if argv[0] == "--config" else SMOKE + argv), pattern)


def test_gguf_without_the_gguf_package(tmp_path):
    p = cli(SMOKE + ["--model_name_or_path", str(tmp_path), "--gguf_file", "model.gguf"], pre="sys.modules['gguf'] = None")
    assert_one_clear_line(p, r"gguf_file 'model\.gguf': .*pip install gguf")


def test_debug_shows_the_traceback():
    p = cli(SMOKE + ["--methods", "sfft", "--debug"])
    assert p.returncode != 0 and "Traceback" in p.stderr
    assert "ForgetbenchError: config: unknown method 'sfft'" in p.stderr


def results(out: Path) -> dict:
    return json.loads((out / "sft" / "seed0" / "results.json").read_text())


@pytest.mark.parametrize("overlap", ["false", "true"])
def test_reward_garbage_during_grpo_names_the_task(tmp_path, micro_base_path, overlap):
    """The reward is valid on the teacher target (so the early check passes) but NaN on other samples.
    Overlapped, the base is measured in the other process while stage 1 fails: its row is kept too."""
    argv = plugin(tmp_path, reward="1.0 if completion == example['target'] else float('nan')")
    out = tmp_path / "out"
    p = cli(SMOKE + argv + ["--methods", "grpo", "--output_dir", str(out), "--prompts_per_step", "2",
                            "--overlap_measurement", overlap])
    assert_one_clear_line(p, r"task 'bad_task': reward\(\) returned nan, outside \[0, 1\]")
    r = json.loads((out / "grpo" / "seed0" / "results.json").read_text())
    assert r["stages"] == ["base"] and not r["complete"]  # the base evaluation is kept


def test_corrupt_results_file_is_named_and_kept(tmp_path, micro_base_path):
    path = tmp_path / "sft" / "seed0" / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"stages": ["base",')
    p = cli(SMOKE + ["--output_dir", str(tmp_path)])
    assert_one_clear_line(p, r"sft/seed0/results\.json: not valid JSON \(line 1: .*--overwrite")
    assert path.read_text() == '{"stages": ["base",'


@pytest.mark.parametrize("overlap", ["false", "true"])
def test_nan_loss_stops_stage_2_and_keeps_stage_1(tmp_path, micro_base_path, monkeypatch, capsys, overlap):
    """Stage 2 trains with a learning rate of 1e30: its loss turns NaN; the error names the stage, the
    stage-1 row and checkpoint survive (overlapped: stage 1, measured meanwhile, is recorded before the
    error), and the same command (without the fault) resumes."""
    from forgetbench.llm.learner import LLMLearner
    from forgetbench.run import main

    train_stage = LLMLearner.train_stage

    def diverging(self, task, stage):
        if stage == 2:
            monkeypatch.setattr(self.cfg.sft, "learning_rate", 1e30)
        return train_stage(self, task, stage)

    argv = SMOKE + ["--max_steps", "3", "--output_dir", str(tmp_path), "--prior_tasks", "--kl.n_prompts", "2",
                    "--overlap_measurement", overlap]
    monkeypatch.setattr(LLMLearner, "train_stage", diverging)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("forgetbench: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert re.search(r"sft seed 0 stage 2 \(even_between\): training diverged .*earlier stages are kept", lines[0])
    kept = results(tmp_path)
    assert kept["stages"] == ["base", "sum_to"] and not kept["complete"]
    ckpts = tmp_path / "sft" / "seed0" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["stage1"]
    monkeypatch.undo()
    assert main(argv) == 0
    done = results(tmp_path)
    assert done["stages"] == ["base", "sum_to", "even_between"] and done["complete"]
    assert done["accuracy"][:2] == kept["accuracy"]
