"""``grpo``: TRL ``GRPOTrainer`` with the task's score as the reward.

Per step: ``prompts_per_step`` prompts x ``num_generations`` completions (one generation batch, one
optimizer step). With ``beta > 0`` TRL builds its reference model from ``config._name_or_path``,
so the learner points that at the checkpoint the stage started from.
"""
from __future__ import annotations

from accelerate import PartialState
from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from forgetbench.config import GRPOParams
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.trainer_args import common_trainer_kwargs
from forgetbench.task import Task


def task_reward(task: Task):
    """A TRL reward function: ``f(prompts, completions, **columns) -> list[float]`` via the task's
    checked ``reward`` (a non-number, NaN or out-of-range value stops the run naming the task)."""
    def reward(prompts, completions, answer, target, **_):
        return [task.checked_score(c, {"prompt": p, "answer": a, "target": t}, fn="reward")
                for p, c, a, t in zip(prompts, completions, answer, target)]
    reward.__name__ = f"{task.name}_reward"
    return reward


def build_grpo_trainer(model, tokenizer, task: Task, rows: Dataset, params: GRPOParams, *, steps: int,
                       prompts_per_step: int, seed: int, output_dir: str, callbacks=(), **kwargs) -> GRPOTrainer:
    batch = prompts_per_step * params.num_generations  # completions per optimizer step, all processes
    world = PartialState().num_processes
    if batch % world:
        raise ForgetbenchError(f"grpo: prompts_per_step x num_generations = {batch} must be divisible by "
                               f"the number of processes ({world})")
    args = GRPOConfig(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=batch // world, generation_batch_size=batch, num_generations=params.num_generations,
        max_completion_length=task.max_new_tokens, temperature=params.temperature, top_k=0, top_p=1.0,
        beta=params.beta, loss_type=params.loss_type, scale_rewards=params.scale_rewards,
        use_vllm=params.use_vllm, vllm_mode=params.vllm_mode, lr_scheduler_type="constant",
        model_init_kwargs={"dtype": "float32"} if params.beta > 0 else None)
    return GRPOTrainer(model=model, reward_funcs=[task_reward(task)], args=args,
                       train_dataset=rows.select_columns(["prompt", "answer", "target"]),
                       processing_class=tokenizer, callbacks=list(callbacks))


def train_grpo(*args, **kwargs) -> list[dict]:
    trainer = build_grpo_trainer(*args, **kwargs)
    trainer.train()
    return trainer.state.log_history
