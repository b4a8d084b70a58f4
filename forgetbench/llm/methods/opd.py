"""``opd``: on-policy distillation — TRL ``DistillationTrainer``: the student samples, and matches the
teacher's per-token distribution along its own samples.

Per step: ``prompts_per_step`` prompts x 1 completion sampled from the *student* (T = ``opd.temperature``,
no top-k/top-p), then the loss over the completion tokens t (TRL's generalised JSD with ``opd.beta``):
``beta = 1`` (default) is the reverse KL ``Σ_t KL(π_θ(·|x,y<t) ‖ π_T(·|x,y<t))`` of Agarwal et al.'s
GKD with λ = 1 (fully on-policy); ``beta = 0`` the forward KL. The teacher (``opd.teacher``:
``expert`` or a model path, see ``teacher``) must share the student's vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

from forgetbench.errors import ForgetbenchError
from forgetbench.plugins.methods import MethodParams, register_method


@dataclass
class OPDParams(MethodParams):
    learning_rate: float = 1e-4
    teacher: str = "expert"
    #: TRL's generalised JSD interpolation: 0 = forward KL(teacher || student), 1 = reverse KL (default).
    beta: float = 1.0
    temperature: float = 1.0

    def check(self, section, fail) -> None:
        if not 0.0 <= self.beta <= 1.0:
            fail(f"{section}.beta must be in [0, 1] (0 = forward KL, 1 = reverse KL), got {self.beta}")


def build_opd_trainer(model, tokenizer, teacher, task, rows, params: OPDParams, *, steps: int, prompts_per_step: int,
                      seed: int, output_dir: str, callbacks=(), **kwargs):
    from accelerate import PartialState
    from trl import DistillationConfig, DistillationTrainer

    from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config
    from forgetbench.loop.console import quiet_trainer

    world = PartialState().num_processes
    fields = dict(
        **common_trainer_kwargs(output_dir=output_dir, max_steps=steps, learning_rate=params.learning_rate,
                                seed=seed, **kwargs),
        per_device_train_batch_size=max(1, prompts_per_step // world), max_completion_length=task.max_new_tokens,
        temperature=params.temperature, top_k=0, top_p=1.0, beta=params.beta, lr_scheduler_type="constant")
    args = trl_config(DistillationConfig, "opd", fields, params.trl_args)
    try:
        trainer = DistillationTrainer(model=model, teacher_model=teacher, args=args,
                                      train_dataset=rows.select_columns(["prompt"]), processing_class=tokenizer,
                                      callbacks=list(callbacks))
    except ValueError as e:
        if "vocab" not in str(e):
            raise
        raise ForgetbenchError(f"config field 'opd.teacher': {str(e).splitlines()[0]}") from None
    return quiet_trainer(trainer)


def train_opd(*args, on_trained=None, **kwargs) -> list[dict]:
    from forgetbench.llm.rl_trainer import trained_log

    return trained_log(build_opd_trainer(*args, **kwargs), on_trained)


def train(s) -> list[dict]:
    from forgetbench.llm.teacher import stage_teacher

    teacher, _, s.stats["teacher"] = stage_teacher(s, "opd")
    return train_opd(s.model, s.tokenizer, teacher, s.task, s.rows, s.params, prompts_per_step=s.cfg.prompts_per_step,
                     output_dir=s.output_dir, **s.common)


register_method("opd", OPDParams, train, data_source="on_policy", objective="distillation", teacher=True)
