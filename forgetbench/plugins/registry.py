"""Task registry and plug-in discovery.

Tasks register themselves with ``@register_task``. Discovery imports, in order: the built-ins in
the package's own ``tasks/`` directory (loaded from there under a private package name, so a user's
``tasks`` module on ``sys.path`` cannot shadow them), every ``.py`` file of each ``include_path``
directory (``import_plugins``; a file may also register methods, ``forgetbench.plugins.methods``), and
the entry-point group ``forgetbench.tasks``. The core never imports a task by name.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from importlib.metadata import entry_points
from pathlib import Path

from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.task import Task

ENTRY_POINT_GROUP = "forgetbench.tasks"
#: The built-in tasks' directory (beside ``forgetbench/``, installed with it) and their private package name.
BUILTIN_DIR = Path(__file__).resolve().parents[2] / "tasks"
BUILTIN_PACKAGE = "_forgetbench_builtin_tasks"
_REGISTRY: dict[str, type[Task]] = {}


def _source(cls: type) -> str:
    try:
        return inspect.getsourcefile(cls) or cls.__module__
    except TypeError:
        return cls.__module__


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise ForgetbenchError(f"@register_task needs a subclass of forgetbench.Task, got {cls!r}")
    if not cls.name:
        raise ForgetbenchError(f"task class {cls.__qualname__} in {_source(cls)} has no `name`")
    old = _REGISTRY.get(cls.name)
    if old is not None and (old.__qualname__, _source(old)) != (cls.__qualname__, _source(cls)):
        raise ForgetbenchError(f"duplicate task name {cls.name!r}: defined in {_source(old)} "
                               f"and in {_source(cls)}")
    _REGISTRY[cls.name] = cls
    return cls


def _import_file(path: Path) -> None:
    mod_name = f"forgetbench_plugin_{path.stem}_{abs(hash(str(path.resolve()))) % 10**8}"
    if mod_name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except ForgetbenchError:
        del sys.modules[mod_name]
        raise
    except Exception as e:
        del sys.modules[mod_name]
        raise ForgetbenchError(f"plug-in {path} failed to import: {type(e).__name__}: {e}") from e


def import_plugins(include_path: list[str] | tuple[str, ...]) -> None:
    """Import every ``.py`` file of each ``include_path`` directory (each file once per process)."""
    for directory in include_path:
        d = Path(directory)
        if not d.is_dir():
            raise ForgetbenchError(f"include_path {directory!r} is not a directory")
        for path in sorted(d.glob("*.py")):
            _import_file(path)


def builtin_module(name: str):
    """The built-in task module ``name`` (e.g. ``prior_skills``), imported from ``BUILTIN_DIR`` whatever
    ``sys.path`` holds."""
    if BUILTIN_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(BUILTIN_PACKAGE, BUILTIN_DIR / "__init__.py",
                                                      submodule_search_locations=[str(BUILTIN_DIR)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[BUILTIN_PACKAGE] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{BUILTIN_PACKAGE}.{name}")


def discover(include_path: list[str] | tuple[str, ...] = ()) -> dict[str, type[Task]]:
    """Import built-ins, include-path files and entry points; return the registry."""
    for info in pkgutil.iter_modules([str(BUILTIN_DIR)]):
        builtin_module(info.name)
    import_plugins(include_path)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:
            raise ForgetbenchError(f"task plug-in entry point {ep.name!r} ({ep.value}) failed to "
                                   f"import: {type(e).__name__}: {e}") from e
        if isinstance(obj, type) and issubclass(obj, Task) and obj.name not in _REGISTRY:
            register_task(obj)
    return dict(_REGISTRY)


def get_task(name: str, **options) -> Task:
    """Instantiate the registered task ``name``; unknown names get a did-you-mean list."""
    if name not in _REGISTRY:
        discover()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ForgetbenchError(f"unknown task {name!r}; {hint}known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**options)


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def describe_tasks() -> list[str]:
    """One line per task: name and short description."""
    return [f"{n}\t{_REGISTRY[n].description}" for n in sorted(_REGISTRY)]
