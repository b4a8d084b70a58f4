"""forgetbench: does on-policy learning forget less than off-policy supervised learning?"""
import importlib

from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.methods import MethodParams, Stage, register_method
from forgetbench.plugins.registry import get_task, register_task
from forgetbench.plugins.task import Task

__all__ = ["Task", "register_task", "get_task", "MethodParams", "Stage", "register_method", "ForgetbenchError",
           "load_model", "ForgettingCallback"]

#: Public names of the upper layers, imported on first use (``import forgetbench`` stays light: no torch).
_LAZY = {"load_model": "forgetbench.llm.base_model.load", "ForgettingCallback": "forgetbench.llm.forgetting_callback"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'forgetbench' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
