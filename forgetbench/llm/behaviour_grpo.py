"""GRPO on completions from a frozen behaviour policy π_b: TRL's ``GRPOTrainer`` with only the generation
source swapped. Each step's completions are sampled from π_b, and the old log-probabilities of TRL's
clipped, importance-weighted loss are π_b's, so per token

    r_t = π_θ(y_t | x, y<t) / π_b(y_t | x, y<t),   loss_t = −min(r_t A, clip(r_t, 1 − ε_low, 1 + ε_high) A)

(A = the group advantage of the completion). π_b is a frozen copy of the stage-start model refreshed to
the learner's weights every ``refresh_every`` optimizer steps (None: never), or the base model, or a
model at a path. Prompts, optimizer steps and the sampler's RNG are GRPO's: at a step where π_b equals
the learner the samples, the ratio (1) and the gradient are GRPO's.

Recorded per stage (``behaviour_stats``): ``importance_ratio_mean``, the mean over optimizer steps of
the mean of r_t over the completion tokens of the step, and ``clipped_share``, the mean over steps of the
share of those tokens whose ratio is clipped out of the gradient (r_t < 1 − ε_low with A < 0, or
r_t > 1 + ε_high with A > 0: TRL's ``clip_ratio/region_mean``).
"""
from __future__ import annotations

import copy
import functools

import torch
from trl import GRPOTrainer

from forgetbench.errors import ForgetbenchError

START, BASE = "start", "base"


class BehaviourGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose completions and old log-probabilities come from the frozen ``behaviour``."""

    def __init__(self, *args, behaviour, refresh_every: int | None = None, **kwargs):
        from accelerate.utils import is_peft_model
        from trl.trainer.utils import add_fused_lm_head

        super().__init__(*args, **kwargs)
        self.behaviour = behaviour.to(self.accelerator.device).eval().requires_grad_(False)
        add_fused_lm_head(behaviour.get_base_model() if is_peft_model(behaviour) else behaviour,  # as TRL's ref model
                          temperature=self.temperature, cast_lm_head_to_fp32=self.args.cast_lm_head_to_fp32)
        self.refresh_every = refresh_every
        self.ratio_means: list[float] = []      # per optimizer step
        self.clipped_shares: list[float] = []
        self._in_loss, self._loss_logps = False, None

    def _refresh(self) -> None:
        step = self.state.global_step
        if self.refresh_every and step > 0 and step % self.refresh_every == 0:
            self.behaviour.load_state_dict(self.accelerator.unwrap_model(self.model).state_dict())

    def _generate_and_score_completions(self, inputs):
        self._refresh()
        learner, self.model_wrapped = self.model_wrapped, self.behaviour   # TRL generates with model_wrapped
        try:
            out = super()._generate_and_score_completions(inputs)
        finally:
            self.model_wrapped = learner
        ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)
        mask = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)
        with torch.no_grad():
            out["old_per_token_logps"] = self._get_per_token_logps_and_entropies(
                self.behaviour, ids, mask, out["completion_ids"].size(1))[0]
        return out

    def _get_per_token_logps_and_entropies(self, model, *args, **kwargs):
        out = super()._get_per_token_logps_and_entropies(model, *args, **kwargs)
        if self._in_loss:
            self._loss_logps = out[0].detach()
        return out

    def _compute_loss(self, model, inputs):
        self._in_loss = True
        try:
            loss = super()._compute_loss(model, inputs)
        finally:
            self._in_loss = False
        if model.training:
            self._record(inputs)
        return loss

    def _record(self, inputs) -> None:
        mask = inputs["completion_mask"].float()
        if "tool_mask" in inputs:
            mask = mask * inputs["tool_mask"]
        ratio = torch.exp(self._loss_logps - inputs["old_per_token_logps"])
        adv = inputs["advantages"]
        adv = adv.unsqueeze(1) if adv.dim() == 1 else adv
        clipped = ((ratio < 1 - self.epsilon_low) & (adv < 0)) | ((ratio > 1 + self.epsilon_high) & (adv > 0))
        n = mask.sum().clamp(min=1.0)
        self.ratio_means.append(float((ratio * mask).sum() / n))
        self.clipped_shares.append(float((clipped.float() * mask).sum() / n))


def behaviour_stats(trainer) -> dict:
    """The stage's ``importance_ratio_mean`` and ``clipped_share`` (means over optimizer steps)."""
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return {"importance_ratio_mean": mean(trainer.ratio_means), "clipped_share": mean(trainer.clipped_shares)}


def unpatched_copy(model):
    """A deep copy of ``model`` without the instance-level ``forward`` an earlier trainer put on it (TRL's
    fused LM head: its closure would still call the original model's forward, i.e. the learner's weights)."""
    out = copy.deepcopy(model)
    for m in out.modules():
        m.__dict__.pop("forward", None)
    return out


def behaviour_model(stage, behaviour: str):
    """π_b at the stage start: a frozen copy of the model that trains (``start``), the run's base model
    (``base``) or the model at a path (sharing the run's tokenizer)."""
    if behaviour == START:
        return unpatched_copy(stage.model)
    if behaviour == BASE:
        return stage.base
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path

    try:
        model, tok = load_model_and_tokenizer(resolve_model_path(behaviour), dtype=stage.cfg.dtype)
    except (OSError, ValueError, ForgetbenchError) as e:
        raise ForgetbenchError(f"config field '{stage.method}.behaviour': cannot load {behaviour!r} (give "
                               f"start, base or a model path): {str(e).splitlines()[0]}") from None
    if tok.get_vocab() != stage.tokenizer.get_vocab():
        raise ForgetbenchError(f"config field '{stage.method}.behaviour': {behaviour!r} has another tokenizer "
                               f"than the run's model; the behaviour policy must share its vocabulary")
    return model


def train_behaviour(stage, build) -> list[dict]:
    """A GRPO stage on π_b's completions: ``build`` (``grpo.build_grpo_trainer``) with this trainer class."""
    from forgetbench.llm.rl_trainer import train_group

    p = stage.params
    cls = functools.partial(BehaviourGRPOTrainer, behaviour=behaviour_model(stage, getattr(p, "behaviour", START)),
                            refresh_every=p.refresh_every)
    return train_group(stage, functools.partial(build, trainer_cls=cls, section=stage.method), extra=behaviour_stats)
