"""Method registry: a training method is one unit — its Params (its config section), its train
function and its traits — registered by name with ``register_method``.

Discovery imports, in order: the built-ins (every module of ``forgetbench.llm.methods``, by name:
the config layer never imports the llm layer), every ``.py`` file of each ``include_path``
directory (the files that also hold task plug-ins), and the entry-point group ``forgetbench.methods``.
A method file keeps its heavy imports (torch, TRL) inside its functions, so discovery stays cheap.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import pkgutil
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable

from forgetbench.config.marks import ADDED
from forgetbench.errors import ForgetbenchError

BUILTINS = "forgetbench.llm.methods"
ENTRY_POINT_GROUP = "forgetbench.methods"
DATA_SOURCES = ("off_policy", "on_policy")
OBJECTIVES = ("likelihood", "policy_gradient", "distillation", "preference")


@dataclass
class MethodParams:
    """The fields every method's config section has; a method's Params subclass this."""
    learning_rate: float = 1e-4
    #: Further fields of the method's TRL config, passed as they are (unknown names and the fields
    #: forgetbench sets — budgets, sampling, precision — are refused).
    trl_args: dict[str, Any] = field(default_factory=dict)

    def check(self, section: str, fail: Callable[[str], None]) -> None:
        """Range checks of the section named ``section`` (``fail(msg)`` raises)."""


def added_trl_args():
    """``trl_args`` of a section stored before it had one (left out of the fingerprint while empty)."""
    return field(default_factory=dict, metadata=ADDED)


@dataclass
class Stage:
    """What a method's ``train(stage)`` gets for one stage; it returns the trainer's log history and
    adds its own numbers to ``stats``."""
    cfg: Any
    method: str
    params: Any                # the method's config section
    number: int
    task: Any
    rows: Any                  # the stage's max_steps x prompts_per_step training rows (model-formatted prompts)
    eval_rows: list[dict]      # the task's eval rows (for a teacher's accuracy)
    model: Any                 # what trains: the model, or its LoRA-wrapped view
    start: Any                 # the plain stage-start model (samples before training; the expert's start)
    start_path: str            # the checkpoint the stage starts from (a reference model is built from it)
    tokenizer: Any
    stats: dict
    output_dir: str
    common: dict               # steps, seed, callbacks, activation_checkpointing, on_trained
    teacher_dir: Path          # where ``teacher: expert`` models are kept (the run directory's teachers/)
    where: str = ""            # "<method> seed <s> stage <k> (<task>)", for messages
    base: Any = None           # the run's base model (frozen; a behaviour policy, the teacher's KL)


@dataclass(frozen=True)
class Method:
    name: str
    params: type                      # a MethodParams subclass; its config section is ``name:``
    train: Callable[[Stage], list]
    data_source: str                  # off_policy | on_policy
    objective: str                    # likelihood | policy_gradient | distillation | preference
    teacher: bool = False             # learns from ``<name>.teacher`` (``expert`` or a model path)
    #: The section came after runs were stored: left out of the fingerprint while at its defaults.
    added: bool = True
    source: str = ""


_REGISTRY: dict[str, Method] = {}
_BUILTINS_DONE = False


def register_method(name: str, params: type, train: Callable, *, data_source: str, objective: str,
                    teacher: bool = False, added: bool = True) -> Method:
    """Make the method ``name`` available (``methods: [name]``, section ``name:``)."""
    caller = sys._getframe(1).f_globals
    where = caller.get("__file__") or caller.get("__name__", "?")
    if not (isinstance(params, type) and issubclass(params, MethodParams) and dataclasses.is_dataclass(params)):
        raise ForgetbenchError(f"method {name!r} ({where}): params must be a dataclass subclassing MethodParams")
    if data_source not in DATA_SOURCES or objective not in OBJECTIVES:
        raise ForgetbenchError(f"method {name!r} ({where}): data_source must be one of {DATA_SOURCES} and "
                               f"objective one of {OBJECTIVES}, got {data_source!r}, {objective!r}")
    if teacher and "teacher" not in {f.name for f in dataclasses.fields(params)}:
        raise ForgetbenchError(f"method {name!r} ({where}): a teacher method's params need a 'teacher' field")
    old = _REGISTRY.get(name)
    if old is not None and old.source != where:
        raise ForgetbenchError(f"duplicate method name {name!r}: defined in {old.source} and in {where}")
    _REGISTRY[name] = Method(name, params, train, data_source, objective, teacher, added, where)
    return _REGISTRY[name]


def discover_methods(include_path: list[str] | tuple[str, ...] = ()) -> dict[str, Method]:
    """Import the built-ins, the include-path files and entry points; return the registry."""
    from forgetbench.plugins.registry import import_plugins

    global _BUILTINS_DONE
    package = importlib.import_module(BUILTINS)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{BUILTINS}.{info.name}")
    _BUILTINS_DONE = True
    import_plugins(include_path)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as e:
            raise ForgetbenchError(f"method plug-in entry point {ep.name!r} ({ep.value}) failed to "
                                   f"import: {type(e).__name__}: {e}") from e
    return dict(_REGISTRY)


def registered_methods() -> dict[str, Method]:
    """The registry, the built-ins discovered first."""
    if not _BUILTINS_DONE:
        discover_methods()
    return dict(_REGISTRY)


def get_method(name: str) -> Method:
    """The registered method ``name``; an unknown name gets a did-you-mean list."""
    known = registered_methods()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ForgetbenchError(f"unknown method {name!r}{hint}; known: {', '.join(known)}")
    return known[name]


def methods_table() -> str:
    """A markdown table of the registered methods: name, data source, objective, teacher, defaults
    (the section's fields at their defaults), paired by objective."""
    order = {o: i for i, o in enumerate(OBJECTIVES)}
    rows = sorted(registered_methods().values(), key=lambda m: (order[m.objective], m.data_source, m.name))
    lines = ["| method | data source | objective | teacher | defaults |", "|---|---|---|---|---|"]
    for m in rows:
        defaults = ", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(m.params()).items() if v != {})
        lines.append(f"| `{m.name}` | {m.data_source.replace('_', '-')} | {m.objective.replace('_', ' ')} | "
                     f"{'yes' if m.teacher else ''} | {defaults} |")
    return "\n".join(lines)
