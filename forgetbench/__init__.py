"""forgetbench: does on-policy learning forget less than off-policy supervised learning?"""
from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.methods import MethodParams, Stage, register_method
from forgetbench.plugins.registry import register_task
from forgetbench.plugins.task import Task

__all__ = ["Task", "register_task", "MethodParams", "Stage", "register_method", "ForgetbenchError"]
