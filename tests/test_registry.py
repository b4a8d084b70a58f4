"""Task registry: decorator, include path, entry point, duplicates, import errors, did-you-mean."""
import sys
import textwrap

import pytest

from forgetbench import Task, register_task
from forgetbench.plugins import registry
from forgetbench.errors import ForgetbenchError

PLUGIN = textwrap.dedent('''
    from forgetbench import Task, register_task

    @register_task
    class {cls}(Task):
        name = "{name}"
        description = "a test plug-in"
        max_new_tokens = 3
        n_eval = 5
        def make_example(self, rng):
            x = str(rng.randint(0, 9))
            return {{"prompt": "p" + x + ":", "answer": x, "target": x}}
        def score(self, completion, example):
            return float(completion.strip() == example["answer"])
''')


@pytest.fixture(autouse=True)
def clean_registry():
    registry.discover()
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


def test_decorator_registers_and_instantiates():
    @register_task
    class Echo(Task):
        name = "echo_test"
        def make_example(self, rng):
            return {"prompt": "e:", "answer": "1", "target": "1"}
        def score(self, completion, example):
            return 1.0
    assert isinstance(registry.get_task("echo_test"), Echo)
    assert "echo_test" in registry.task_names()


def test_builtins_discovered():
    names = set(registry.discover())
    assert {"copy", "reverse", "add", "subtract", "even_between", "sum_to", "multiple"} <= names


def test_include_path(tmp_path):
    (tmp_path / "mine.py").write_text(PLUGIN.format(cls="Mine", name="mine_digit"))
    registry.discover([str(tmp_path)])
    task = registry.get_task("mine_digit")
    ds = task.load("eval")
    assert len(ds) == 5 and not set(ds['prompt']) & set(task.load('train')['prompt']) and task.score(ds[0]["answer"], ds[0]) == 1.0


def test_duplicate_names_name_both_files(tmp_path):
    (tmp_path / "a.py").write_text(PLUGIN.format(cls="A", name="dup_task"))
    (tmp_path / "b.py").write_text(PLUGIN.format(cls="B", name="dup_task"))
    with pytest.raises(ForgetbenchError, match=r"duplicate task name 'dup_task'.*a\.py.*b\.py"):
        registry.discover([str(tmp_path)])


def test_duplicate_of_builtin(tmp_path):
    (tmp_path / "c.py").write_text(PLUGIN.format(cls="C", name="copy"))
    with pytest.raises(ForgetbenchError, match=r"duplicate task name 'copy'.*prior_skills\.py.*c\.py"):
        registry.discover([str(tmp_path)])


def test_plugin_that_raises_at_import(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ForgetbenchError, match=r"broken\.py failed to import: RuntimeError: boom"):
        registry.discover([str(tmp_path)])


def test_missing_include_dir(tmp_path):
    with pytest.raises(ForgetbenchError, match="is not a directory"):
        registry.discover([str(tmp_path / "nope")])


def test_did_you_mean():
    registry.discover()
    with pytest.raises(ForgetbenchError, match=r"unknown task 'sumto'; did you mean sum_to.*known tasks: add, .*copy, .*sum_to"):
        registry.get_task("sumto")


def test_entry_point(tmp_path, monkeypatch):
    (tmp_path / "ep_plugin_mod.py").write_text(PLUGIN.format(cls="EP", name="ep_task").replace("@register_task", ""))
    dist = tmp_path / "ep_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[forgetbench.tasks]\nep_task = ep_plugin_mod:EP\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.discover()
    assert registry.get_task("ep_task").max_new_tokens == 3
    sys.modules.pop("ep_plugin_mod", None)


def test_bad_plugin_outputs_are_named():
    @register_task
    class Bad(Task):
        name = "bad_test"
        def make_example(self, rng):
            return {"prompt": "x"}
        def score(self, completion, example):
            return {"nan": float("nan"), "big": 2.0, "str": "yes"}.get(completion, 0.5)
    task = registry.get_task("bad_test")
    with pytest.raises(ForgetbenchError, match=r"task 'bad_test': make_example returned no \['answer', 'target'\]"):
        task.load("eval")
    e = {"prompt": "x", "answer": "", "target": ""}
    for c, msg in [("nan", "returned nan, outside"), ("big", "returned 2.0, outside"), ("str", "returned 'yes'")]:
        with pytest.raises(ForgetbenchError, match=msg):
            task.checked_score(c, e)
    assert task.checked_score("other", e) == 0.5


def test_a_users_tasks_package_does_not_shadow_the_built_ins(tmp_path):
    """A ``tasks`` package in the current directory (first on sys.path) leaves the built-ins alone."""
    import subprocess

    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text("GARBAGE = 1\n")
    (tmp_path / "tasks" / "copy.py").write_text("raise RuntimeError('the user tasks/copy.py was imported')\n")
    code = ("import sys; sys.path.insert(0, ''); import tasks; assert tasks.GARBAGE == 1\n"
            "from forgetbench.plugins.registry import get_task, BUILTIN_DIR\n"
            "t = get_task('copy'); import inspect\n"
            "print(type(t).__name__, inspect.getsourcefile(type(t)) == str(BUILTIN_DIR / 'prior_skills.py'))\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(registry.BUILTIN_DIR.parent)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Copy", "True"]
