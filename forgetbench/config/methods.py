"""Config sections of the on-policy spectrum's methods (``rloo``, ``dpo``, ``online_dpo``, ``kd``,
``opd``, ``sdft``) and of the ``expert`` teacher; ``forgetbench.config.schema`` puts them in ``Config``.

Every section has ``learning_rate`` and ``trl_args`` (further fields of the method's TRL config,
passed as they are; unknown names and the fields forgetbench sets — budgets, sampling, precision —
are refused)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The methods of the spectrum, beside ``sft``, ``grpo`` and ``rft``.
SPECTRUM_METHODS = ("rloo", "dpo", "online_dpo", "kd", "opd", "sdft")
#: Methods that learn from a teacher (``teacher: expert`` or a model path).
TEACHER_METHODS = ("kd", "opd")


@dataclass
class RLOOParams:
    learning_rate: float = 1e-4
    #: KL coefficient to the stage-start model (TRL's default is 0.05; 0 as for grpo, RL's Razor).
    beta: float = 0.0
    num_generations: int = 8
    temperature: float = 1.0
    normalize_advantages: bool = False
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    trl_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class DPOParams:
    learning_rate: float = 1e-4
    beta: float = 0.1
    loss_type: str = "sigmoid"
    #: Samples of the stage-start model per prompt, searched for an incorrect one (the rejected answer).
    samples_per_prompt: int = 4
    trl_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class OnlineDPOParams:
    learning_rate: float = 1e-4
    beta: float = 0.1
    loss_type: str = "sigmoid"
    temperature: float = 1.0
    trl_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class KDParams:
    learning_rate: float = 3e-4
    #: ``expert`` (the stage-start model fine-tuned by SFT on the task's targets) or a model path.
    teacher: str = "expert"
    #: Teacher samples per training prompt (T = ``temperature``); every sample is an SFT row.
    samples_per_prompt: int = 1
    temperature: float = 1.0


@dataclass
class OPDParams:
    learning_rate: float = 1e-4
    teacher: str = "expert"
    #: TRL's generalised JSD interpolation: 0 = forward KL(teacher || student), 1 = reverse KL (default).
    beta: float = 1.0
    temperature: float = 1.0
    trl_args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExpertParams:
    """The ``teacher: expert`` recipe: SFT of the stage-start model on the task's targets."""
    learning_rate: float = 3e-4
    #: Optimizer steps of ``prompts_per_step`` rows (null = ``max_steps``).
    max_steps: int | None = None


@dataclass
class SDFTParams:
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
    trl_args: dict[str, Any] = field(default_factory=dict)


def validate_spectrum(cfg, fail) -> None:
    """Range checks of the spectrum's sections (``fail(msg)`` raises)."""
    if cfg.rloo.num_generations < 2:
        fail(f"rloo.num_generations must be >= 2 (leave-one-out baselines), got {cfg.rloo.num_generations}")
    for name in ("rloo", "dpo", "online_dpo"):
        if getattr(cfg, name).beta < 0:
            fail(f"{name}.beta must be >= 0, got {getattr(cfg, name).beta}")
    if not 0.0 <= cfg.opd.beta <= 1.0:
        fail(f"opd.beta must be in [0, 1] (0 = forward KL, 1 = reverse KL), got {cfg.opd.beta}")
    for name, value in (("dpo.samples_per_prompt", cfg.dpo.samples_per_prompt),
                        ("kd.samples_per_prompt", cfg.kd.samples_per_prompt),
                        ("sdft.num_generations", cfg.sdft.num_generations)):
        if value < 1:
            fail(f"{name} must be >= 1, got {value}")
    if cfg.expert.max_steps is not None and cfg.expert.max_steps < 1:
        fail(f"expert.max_steps must be >= 1 or null, got {cfg.expert.max_steps}")
    for name in TEACHER_METHODS:
        if not getattr(cfg, name).teacher:
            fail(f"{name}.teacher is empty: give 'expert' or a model path")
    if cfg.sdft.teacher_model_kind not in ("base", "live", "ema"):
        fail(f"sdft.teacher_model_kind must be base, live or ema, got {cfg.sdft.teacher_model_kind!r}")
