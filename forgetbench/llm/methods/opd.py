"""``opd``: on-policy distillation — TRL ``DistillationTrainer``: the student samples, and matches the
teacher's per-token distribution along its own samples.

Per step: ``prompts_per_step`` prompts x 1 completion sampled from the *student* (T = ``opd.temperature``,
no top-k/top-p), then the loss over the completion tokens t (TRL's generalised JSD with ``opd.beta``):
``beta = 1`` (default) is the reverse KL ``Σ_t KL(π_θ(·|x,y<t) ‖ π_T(·|x,y<t))`` of Agarwal et al.'s
GKD with λ = 1 (fully on-policy); ``beta = 0`` the forward KL. The teacher (``opd.teacher``:
``expert`` or a model path, see ``teacher``) must share the student's vocabulary.
"""
from __future__ import annotations

from accelerate import PartialState

from forgetbench.config.methods import OPDParams
from forgetbench.loop.console import quiet_trainer
from forgetbench.errors import ForgetbenchError
from forgetbench.llm.methods.grpo import trained_log
from forgetbench.llm.trainer_args import common_trainer_kwargs, trl_config


def build_opd_trainer(model, tokenizer, teacher, task, rows, params: OPDParams, *, steps: int, prompts_per_step: int,
                      seed: int, output_dir: str, callbacks=(), **kwargs):
    from trl import DistillationConfig, DistillationTrainer

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
    return trained_log(build_opd_trainer(*args, **kwargs), on_trained)
