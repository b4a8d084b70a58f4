"""``sdft``: self-distillation fine-tuning — TRL's ``SDFTTrainer`` (``trl.experimental.sdft``).

The demonstration (the task's teacher target) is *privileged context* for a self-teacher: the same
model (``sdft.teacher_model_kind``: ``base`` = frozen at the stage start, ``live``, ``ema``) reading
``teacher_prompt_template`` (default ``"{prompt}\\n\\n{privileged_context}"``). The student samples
``sdft.num_generations`` completions per prompt from the plain prompt, and is distilled towards the
teacher's per-token distribution on them (TRL's top-k logit objective by default,
``distillation_alpha``). Per step: ``prompts_per_step`` prompts x ``num_generations`` completions.

A model can only teach itself this way if it can *use* a demonstration placed in its context; the
embedded char-level bases were never trained on such text, so on them the self-teacher is, at best,
the stage-start model (see README).
"""
from __future__ import annotations

from accelerate import PartialState

from forgetbench.config.methods import SDFTParams
from forgetbench.loop.console import quiet_trainer
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.methods.grpo import trained_log
from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config


def build_sdft_trainer(model, tokenizer, task, rows, params: SDFTParams, *, steps: int, prompts_per_step: int,
                       seed: int, output_dir: str, callbacks=(), **kwargs):
    from trl.experimental.sdft import SDFTConfig, SDFTTrainer

    batch = prompts_per_step * params.num_generations
    world = PartialState().num_processes
    if batch % world:
        raise ForgetbenchError(f"sdft: prompts_per_step x num_generations = {batch} must be divisible by "
                               f"the number of processes ({world})")
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=batch // world, generation_batch_size=batch, num_generations=params.num_generations,
        max_completion_length=task.max_new_tokens, temperature=params.temperature, top_k=0, top_p=1.0,
        teacher_model_kind=params.teacher_model_kind, teacher_prompt_template=params.teacher_prompt_template,
        distillation_alpha=params.distillation_alpha, distillation_mode=params.distillation_mode,
        distillation_topk=min(params.distillation_topk, len(tokenizer)), lr_scheduler_type="constant")  # ≤ vocabulary
    args = trl_config(SDFTConfig, "sdft", fields, params.trl_args)
    data = rows.map(lambda r: {"privileged_context": r["target"]}).select_columns(["prompt", "privileged_context"])
    return quiet_trainer(SDFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                     callbacks=list(callbacks)))


def train_sdft(*args, on_trained=None, **kwargs) -> list[dict]:
    return trained_log(build_sdft_trainer(*args, **kwargs), on_trained)
