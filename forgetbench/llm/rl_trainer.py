"""What the TRL trainers of several methods share: the task's score as a reward, the group-sampling
RL trainer (``grpo``, ``rloo``), training with the log history returned, the zero-spread numbers."""
from __future__ import annotations

from datasets import Dataset

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
from forgetbench.loop.console import quiet_trainer
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


def check_vllm(params, section: str) -> None:
    if params.use_vllm:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise ForgetbenchError(f"{section}.use_vllm is true but vLLM is not installed (pip install vllm; GPU only)")


def build_group_trainer(trainer_cls, config_cls, section: str, model, tokenizer, task: Task, rows: Dataset, params,
                        own_fields: dict, *, steps: int, prompts_per_step: int, seed: int, output_dir: str,
                        callbacks=(), **kwargs):
    """A group-sampling RL trainer (``GRPOTrainer``, ``RLOOTrainer``) with the task's reward and the
    shared budget: per step ``prompts_per_step`` prompts x ``params.num_generations`` completions
    (one generation batch, one optimizer step); ``own_fields``: the algorithm's own config fields."""
    from accelerate import PartialState

    batch = prompts_per_step * params.num_generations  # completions per optimizer step, all processes
    world = PartialState().num_processes
    if batch % world:
        raise ForgetbenchError(f"{section}: prompts_per_step x num_generations = {batch} must be divisible by "
                               f"the number of processes ({world})")
    check_vllm(params, section)
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


def trained_log(trainer, on_trained=None) -> list[dict]:
    """Train, call ``on_trained(trainer)`` (FSDP gathering), return the log history."""
    trainer.train()
    if on_trained is not None:
        on_trained(trainer)
    return trainer.state.log_history


def zero_spread_stats(log: list[dict]) -> dict:
    """From a group RL trainer's log history: ``frac_reward_zero_std`` = mean over logged steps of the
    share of groups whose rewards were all equal (zero advantage, no gradient), its last value, and
    ``nothing_to_learn`` (every group had zero spread)."""
    values = [h["frac_reward_zero_std"] for h in log if "frac_reward_zero_std" in h]
    mean = sum(values) / len(values) if values else None
    return {"frac_reward_zero_std": mean, "frac_reward_zero_std_last": values[-1] if values else None,
            "nothing_to_learn": mean == 1.0}


def train_group(stage, build, extra=None) -> list[dict]:
    """A group RL method's stage: the reference model is the stage start; ``build(model, tokenizer,
    task, rows, params, prompts_per_step=…, output_dir=…, steps=…, seed=…, callbacks=…)`` makes the
    trainer; the zero-spread numbers (and ``extra(trainer)``, a dict, when given) go into ``stage.stats``."""
    stage.start.config._name_or_path = stage.start_path
    common = {k: v for k, v in stage.common.items() if k != "on_trained"}
    trainer = build(stage.model, stage.tokenizer, stage.task, stage.rows, stage.params,
                    prompts_per_step=stage.cfg.prompts_per_step, output_dir=stage.output_dir, **common)
    log = trained_log(trainer, stage.common.get("on_trained"))
    stage.stats.update(zero_spread_stats(log))
    if extra is not None:
        stage.stats.update(extra(trainer))
    if stage.stats["frac_reward_zero_std"] == 1.0:
        print(f"[forgetbench] {stage.where}: every group of {stage.params.num_generations} completions had "
              f"the same reward (zero spread): the stage had nothing to learn", flush=True)
    return log
