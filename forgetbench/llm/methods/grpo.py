"""``grpo``: TRL ``GRPOTrainer`` with the task's score as the reward.

Per step: ``prompts_per_step`` prompts x ``num_generations`` completions (one generation batch, one
optimizer step). With ``beta > 0`` TRL builds its reference model from ``config._name_or_path``,
so the learner points that at the checkpoint the stage started from (with a LoRA adapter TRL uses
the adapter-free model instead, which is the same stage-start weights: adapters are merged after
every stage).

On GPU, TRL's vLLM generation is passed through: ``grpo.use_vllm``, ``grpo.vllm_mode`` (``colocate``
or ``server``) and any other ``GRPOConfig`` field in ``grpo.trl_args`` (e.g.
``{vllm_gpu_memory_utilization: 0.3}``).
"""
from __future__ import annotations

from accelerate import PartialState
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from forgetbench.config.schema import GRPOParams
from forgetbench.loop.console import quiet_trainer
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.trainer_args import check_trl_args, common_trainer_kwargs, trl_config
from forgetbench.plugins.task import Task


def task_reward(task: Task):
    """A TRL reward function: ``f(prompts, completions, **columns) -> list[float]`` via the task's
    checked ``reward`` (a non-number, NaN or out-of-range value stops the run naming the task)."""
    def reward(prompts, completions, answer, target, raw_prompt=None, **_):
        prompts = raw_prompt if raw_prompt is not None else prompts  # the task's prompt, not the chat text
        return [task.checked_score(c, {"prompt": p, "answer": a, "target": t}, fn="reward")
                for p, c, a, t in zip(prompts, completions, answer, target)]
    reward.__name__ = f"{task.name}_reward"
    return reward


def _check_vllm(params, section: str = "grpo") -> None:
    if params.use_vllm:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise ForgetbenchError(f"{section}.use_vllm is true but vLLM is not installed (pip install vllm; GPU only)")


def trl_args(params: GRPOParams) -> dict:
    """``grpo.trl_args``: extra ``GRPOConfig`` fields passed as they are (unknown names are refused)."""
    return check_trl_args(GRPOConfig, "grpo", params.trl_args)


def build_group_trainer(trainer_cls, config_cls, section: str, model, tokenizer, task: Task, rows: Dataset, params,
                        own_fields: dict, *, steps: int, prompts_per_step: int, seed: int, output_dir: str,
                        callbacks=(), **kwargs):
    """A group-sampling RL trainer (``GRPOTrainer``, ``RLOOTrainer``) with the task's reward and the
    shared budget: per step ``prompts_per_step`` prompts x ``params.num_generations`` completions
    (one generation batch, one optimizer step); ``own_fields``: the algorithm's own config fields."""
    batch = prompts_per_step * params.num_generations  # completions per optimizer step, all processes
    world = PartialState().num_processes
    if batch % world:
        raise ForgetbenchError(f"{section}: prompts_per_step x num_generations = {batch} must be divisible by "
                               f"the number of processes ({world})")
    _check_vllm(params, section)
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=batch // world, generation_batch_size=batch, num_generations=params.num_generations,
        max_completion_length=task.max_new_tokens, temperature=params.temperature, top_k=0, top_p=1.0,
        beta=params.beta, use_vllm=params.use_vllm, vllm_mode=params.vllm_mode, lr_scheduler_type="constant",
        model_init_kwargs={"dtype": "float32"} if params.beta > 0 else None, **own_fields)
    args = trl_config(config_cls, section, fields, params.trl_args)
    columns = [c for c in ("prompt", "answer", "target", "raw_prompt") if c in rows.column_names]
    return quiet_trainer(trainer_cls(model=model, reward_funcs=[task_reward(task)], args=args,
                                     train_dataset=rows.select_columns(columns),
                                     processing_class=tokenizer, callbacks=list(callbacks)))


def build_grpo_trainer(model, tokenizer, task: Task, rows: Dataset, params: GRPOParams, **kwargs) -> GRPOTrainer:
    own = dict(loss_type=params.loss_type, scale_rewards=params.scale_rewards)
    return build_group_trainer(GRPOTrainer, GRPOConfig, "grpo", model, tokenizer, task, rows, params, own, **kwargs)


def trained_log(trainer, on_trained=None) -> list[dict]:
    """Train, call ``on_trained(trainer)`` (FSDP gathering), return the log history."""
    trainer.train()
    if on_trained is not None:
        on_trained(trainer)
    return trainer.state.log_history


def train_grpo(*args, on_trained=None, **kwargs) -> list[dict]:
    return trained_log(build_grpo_trainer(*args, **kwargs), on_trained)
