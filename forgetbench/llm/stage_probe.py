"""What happens inside one stage, measured while it trains (a ``TrainerCallback`` for every method):

- **saturation**: every ``every`` optimizer steps (and at the start and the end) the greedy accuracy
  of the stage's own task on a fixed subset of its eval prompts, and the model's entropy there
  (mean over prompts of the next-token entropy at the end of the prompt, in nats) — a trace
  ``[[step, accuracy, entropy], ...]``, read by ``measures.saturation``;
- **step size**: after every optimizer step, the angle between each weight matrix behind a norm
  layer before and after the step (``measures.drift.angle_deg``), averaged over those matrices:
  under LayerNorm/RMSNorm scale invariance and AdamW that angle is the effective step size, so
  "the same learning rate" can be checked as "the same step". Behind a norm = the matrices that read
  a normalised input (``NORMED``: attention q/k/v, MLP gate/up, the LM head); all 2-D weights when a
  model has none of those names.
- the trainer's log entries (loss, GRPO's zero-spread share …) with their step.

Every process runs it (the evaluation is sharded and gathered); it never changes training.
"""
from __future__ import annotations

import torch
from transformers import TrainerCallback

from forgetbench.llm.eval.evaluate import evaluate_tasks
from forgetbench.measures.drift import angle_deg

NORMED = ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj", "lm_head")


def normed_matrices(model) -> dict[str, torch.Tensor]:
    """The 2-D weights behind a norm layer (by module name), else every 2-D weight."""
    mats = {n: p.detach() for n, p in model.named_parameters() if p.ndim == 2 and p.requires_grad}
    behind = {n: p for n, p in mats.items() if any(f"{k}." in n or n.endswith(k) for k in NORMED)}
    return behind or mats


@torch.no_grad()
def prompt_entropy(model, tokenizer, prompts: list[str]) -> float:
    """Mean over ``prompts`` of the entropy (nats) of the model's next-token distribution at the end of
    the prompt: H = −Σ_v p(v) log p(v), p = softmax(logits at the last prompt token)."""
    was_training = model.training
    model.eval()
    enc = tokenizer(prompts, return_tensors="pt", padding=True).to(next(model.parameters()).device)
    pos = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    logits = model(**enc, position_ids=pos).logits[:, -1].float()   # left padding: the last column
    logp = torch.log_softmax(logits, -1)
    model.train(was_training)
    return float(-(logp.exp() * logp).sum(-1).mean())


class StageProbe(TrainerCallback):
    """Saturation trace, angular step per optimizer step and the log of one stage (see module doc)."""

    def __init__(self, task, rows: list[dict], tokenizer, *, every: int, n_prompts: int, batch_size: int = 256,
                 share_prefix: bool = False):
        self.task, self.rows, self.tokenizer = task, rows[:n_prompts], tokenizer
        self.every, self.batch_size, self.share_prefix = max(1, int(every)), batch_size, share_prefix
        self.trace: list[list] = []
        self.steps: list[float] = []
        self.log: list[dict] = []
        self._prev: dict[str, torch.Tensor] = {}

    def _probe(self, model, step: int) -> None:
        if self.trace and self.trace[-1][0] == step:
            return
        acc = evaluate_tasks(model, self.tokenizer, {self.task.name: (self.task, self.rows)},
                             batch_size=self.batch_size, share_prefix=self.share_prefix)[self.task.name]["greedy"]
        ent = prompt_entropy(model, self.tokenizer, [r["prompt"] for r in self.rows])
        self.trace.append([step, round(acc, 6), round(ent, 6)])

    def _keep(self, model) -> None:
        self._prev = {n: p.detach().float().cpu().clone() for n, p in normed_matrices(model).items()}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._keep(model)
        self._probe(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        now = normed_matrices(model)
        angles = [angle_deg(now[n], w) for n, w in self._prev.items()
                  if n in now and float(w.norm()) > 0 and float(now[n].norm()) > 0]
        self.steps.append(sum(angles) / len(angles) if angles else 0.0)
        self._keep(model)
        if state.global_step % self.every == 0:
            self._probe(model, state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            self.log.append({"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}})

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._probe(model, state.global_step)

    def step_size(self) -> dict:
        """``angular_step_deg``: mean over optimizer steps of the mean angular update (degrees) of the
        matrices behind a norm layer; ``angular_step_deg_last``: the last step's."""
        s = self.steps
        return {"angular_step_deg": sum(s) / len(s) if s else None, "angular_step_deg_last": s[-1] if s else None,
                "optimizer_steps": len(s)}
