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

from dataclasses import dataclass

from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.methods import MethodParams, register_method


@dataclass
class SDFTParams(MethodParams):
    learning_rate: float = 1e-4
    #: Completions sampled per prompt (the student's own, conditioned on the plain prompt).
    num_generations: int = 1
    #: The self-teacher: ``base`` (the stage-start model), ``live`` (the current student) or ``ema``.
    teacher_model_kind: str = "base"
    #: How the teacher sees the demonstration (``{prompt}``, ``{privileged_context}`` = the task's target).
    teacher_prompt_template: str = "{prompt}\n\n{privileged_context}"
    distillation_alpha: float = 0.5
    distillation_mode: str = "topk_logits"
    distillation_topk: int = 100
    temperature: float = 1.0

    def check(self, section, fail) -> None:
        if self.num_generations < 1:
            fail(f"{section}.num_generations must be >= 1, got {self.num_generations}")
        if self.teacher_model_kind not in ("base", "live", "ema"):
            fail(f"{section}.teacher_model_kind must be base, live or ema, got {self.teacher_model_kind!r}")


def build_sdft_trainer(model, tokenizer, task, rows, params: SDFTParams, *, steps: int, prompts_per_step: int,
                       seed: int, output_dir: str, callbacks=(), **kwargs):
    from accelerate import PartialState
    from trl.experimental.sdft import SDFTConfig, SDFTTrainer

    from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
    from forgetbench.loop.console import quiet_trainer

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
    from forgetbench.llm.rl_trainer import trained_log

    return trained_log(build_sdft_trainer(*args, **kwargs), on_trained)


def train(s) -> list[dict]:
    return train_sdft(s.model, s.tokenizer, s.task, s.rows, s.params, prompts_per_step=s.cfg.prompts_per_step,
                      output_dir=s.output_dir, **s.common)


register_method("sdft", SDFTParams, train, data_source="on_policy", objective="distillation")
