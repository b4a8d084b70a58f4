"""The LLM Learner: trains stages with the registered method (``forgetbench.plugins.methods``; the
built-ins are ``forgetbench.llm.methods``, one file each), evaluates every task, gives KL.

Prompts reach the model through ``chat.PromptFormat`` (the chat template for instruct models); with a
``peft`` config every stage trains a fresh LoRA adapter that is merged when the stage ends
(``lora``), so drift, KL and checkpoints always see plain, merged weights.
"""
from __future__ import annotations

import inspect
import tempfile
from pathlib import Path

from accelerate import PartialState
from safetensors.torch import load_file
from transformers import set_seed

from forgetbench.config.schema import Config
from forgetbench.loop.console import StageProgress
from forgetbench.llm.eval.base_cache import DRAWS, SPECTRA, DiskMemo, base_eval_memo, base_identity
from forgetbench.llm.eval.suite import TaskSuite, load_tasks
from forgetbench.llm.guards import NanLossGuard
from forgetbench.llm.lora import add_lora, lora_config, merge_lora, trainable_count
from forgetbench.llm.base_model.load import load_model_and_tokenizer
from forgetbench.llm.sharding import gathered_state, unsharded
from forgetbench.llm.stage_probe import StageProbe
from forgetbench.llm.teacher_mix import mixed_rows, teacher_kl
from forgetbench.measures.drift import drift_report
from forgetbench.measures.saturation import past_saturation_summary
from forgetbench.plugins.methods import Stage, get_method


def run_header(cfg: Config, model_path: str) -> dict:
    """What results.json says about the model side of a run: weights the drift is measured on
    (``merged`` = base + LoRA deltas, ``weights`` = the fully fine-tuned weights), precision, LoRA,
    chat template."""
    from transformers import AutoTokenizer

    from forgetbench.llm.chat import uses_chat_template
    from forgetbench.llm.base_model.load import resolve_dtype
    from forgetbench.llm.trainer_args import compute_precision

    weights = str(resolve_dtype(cfg.dtype)).removeprefix("torch.")
    return {"drift_on": "merged" if cfg.peft else "weights", "peft": dict(cfg.peft) or None,
            "weight_dtype": weights, "compute_dtype": compute_precision(weights),
            "chat_template": uses_chat_template(cfg.chat_template, AutoTokenizer.from_pretrained(model_path))}


class LLMLearner:
    def __init__(self, cfg: Config, method: str, seed: int, model_path: str, callbacks=(), run_dir=None):
        self.cfg, self.method, self.seed, self.callbacks = cfg, method, seed, list(callbacks)
        #: ``teacher: expert`` models are kept under ``<run_dir>/teachers`` (a temporary folder without one).
        self._tmp = None if run_dir is not None else tempfile.TemporaryDirectory()
        self.teacher_dir = Path(run_dir if run_dir is not None else self._tmp.name) / "teachers"
        if cfg.peft:
            lora_config(cfg.peft)  # a bad peft section fails before the models load
        self.model, self.tokenizer = load_model_and_tokenizer(model_path, dtype=cfg.dtype)
        self.base, _ = load_model_and_tokenizer(model_path, dtype=cfg.dtype)
        self.base.eval().requires_grad_(False)
        self.start_path = model_path  # the checkpoint the current stage starts from (GRPO's reference)
        self.untrained = True  # the model is the base: its evaluation may be read from the base cache
        # Evaluation, KL and extras: the code the ForgettingCallback and ``forgetbench measure`` use too.
        self.suite = TaskSuite(load_tasks(cfg.tasks + cfg.prior_tasks, cfg.task_options), self.tokenizer,
                               chat_template=cfg.chat_template, chat_system=cfg.chat_system, eval=cfg.eval,
                               kl=cfg.kl, seed=seed)
        self.fmt, self.tasks, self.eval_rows = self.suite.fmt, self.suite.tasks, self.suite.rows
        self.last_eval: dict = {}
        self.lm_eval = cfg.eval.lm_eval  # lm-eval suites: prior-skill columns lm_eval/<task>
        #: What is computed from the base alone is kept on disk across runs (``llm/eval/base_cache.py``).
        self.keeps_base = cfg.cache_base_eval and PartialState().num_processes == 1
        self.base_identity = base_identity(model_path, cfg.dtype) if self.keeps_base else None
        if self.keeps_base:
            self.suite.keep_draws(self.base, DiskMemo(DRAWS, self.base_identity))

    # --- Learner protocol ----------------------------------------------------------------------
    def eval_names(self) -> list[str]:
        return self.suite.names()

    def evaluate(self) -> dict[str, float]:
        memo = base_eval_memo(self.base_identity, self.suite, self.cfg, self.seed) \
            if self.untrained and self.keeps_base else {}
        # lm-eval's vllm backend reads the stage's checkpoint (start_path)
        self.last_eval = memo.get("evaluation") or self.suite.evaluate(self.model, self.tokenizer, self.start_path)
        memo["evaluation"] = self.last_eval  # kept on disk for the next run (a plain dict: forgotten)
        return {n: r["greedy"] for n, r in self.last_eval.items()}

    def per_example(self) -> dict[str, str]:
        """The last evaluation's greedy correctness per eval example: ``{task: "0110…"}`` (an lm-eval
        column with continuous per-sample scores has none)."""
        return {n: r["correct"] for n, r in self.last_eval.items() if r["correct"] is not None}

    def train_stage(self, task_name: str, stage: int) -> dict:
        self.untrained = False
        task = self.tasks[task_name]
        mix = self.cfg.teacher_mix   # the teacher's forward KL to the base, before any RNG is drawn
        teacher = teacher_kl(self.base, self.tokenizer, task, self.eval_rows[task_name][:self.cfg.kl.n_prompts], mix,
                             self.cfg.kl.batch_size)
        set_seed(self.seed * 1000 + stage)
        n = self.cfg.max_steps * self.cfg.prompts_per_step
        rows = task.load("train").shuffle(seed=self.seed * 1000 + stage)
        rows = rows.select([i % len(rows) for i in range(n)])
        if mix is not None:
            from datasets import Dataset

            rows = Dataset.from_list(mixed_rows(task, list(rows), mix, self.seed))
        if self.fmt.enabled:
            from datasets import Dataset

            rows = Dataset.from_list(self.fmt.rows(list(rows)))
        where = f"{self.method} seed {self.seed} stage {stage} ({task_name})"
        sat = self.cfg.saturation
        probe = StageProbe(task, self.eval_rows[task_name], self.tokenizer, every=sat.every, n_prompts=sat.n_prompts,
                           batch_size=self.cfg.eval.batch_size, share_prefix=self.cfg.eval.share_prefix) \
            if sat.every > 0 else None
        callbacks = self.callbacks + [NanLossGuard(where), StageProgress(where)] + ([probe] if probe else [])
        common = dict(steps=self.cfg.max_steps, seed=self.seed * 1000 + stage, callbacks=callbacks,
                      activation_checkpointing=self.cfg.activation_checkpointing)
        stats = {"prompts": n, **teacher, **({"teacher_mix": mix} if mix is not None else {})}
        model = add_lora(self.model, self.cfg.peft) if self.cfg.peft else self.model
        stats["trainable_params"] = trainable_count(model)
        gathered = {}
        common["on_trained"] = lambda trainer: gathered.update(state=gathered_state(trainer))
        with tempfile.TemporaryDirectory() as tmp:
            log = get_method(self.method).train(Stage(
                self.cfg, self.method, getattr(self.cfg, self.method), stage, task, rows, self.eval_rows[task_name],
                model, self.model, self.start_path, self.tokenizer, stats, tmp, common, self.teacher_dir, where,
                base=self.base))
        if gathered.get("state") is not None:  # FSDP: the trained module holds shards only
            self.model = unsharded(self.model, gathered["state"])
        elif self.cfg.peft:
            self.model = merge_lora(model)
        stats["final_loss"] = next((h[k] for k in ("loss", "train_loss") for h in reversed(log) if k in h), None)
        if probe is not None:                 # saturation and the effective step size of this stage
            stats.update(probe.step_size())
            stats["saturation"] = past_saturation_summary(probe.trace, probe.log, self.cfg.max_steps, sat.threshold)
        self.model.eval()
        return stats

    def parameters(self):
        return dict(self.model.named_parameters())

    @property
    def drift_options(self) -> dict:
        return {"svd_matrices": self.cfg.drift.svd_matrices}

    def base_parameters(self):
        return dict(self.base.named_parameters())

    def kept_base_spectra(self) -> dict | DiskMemo:
        """Where ``drift_report`` keeps the base's spectra: on disk across runs, or for this run only."""
        if not self.keeps_base:
            return {}
        top_k = inspect.signature(drift_report).parameters["top_k"].default  # the measurer's (the default)
        return DiskMemo(SPECTRA, {**self.base_identity, "top_k": top_k})

    def divergences(self, task: str, old_tasks: list[str]) -> dict:
        return self.suite.divergences(self.base, self.model, self.tokenizer, task, old_tasks)

    def extras(self, task: str) -> dict:
        return self.suite.extras(self.model, self.tokenizer, self.last_eval, task)

    def save(self, path: Path) -> None:
        if PartialState().is_main_process:
            self.model.save_pretrained(path)
            self.tokenizer.save_pretrained(path)

    def load(self, path: Path) -> None:
        self.model.load_state_dict(load_file(str(Path(path) / "model.safetensors")), strict=False)
        self.model.tie_weights()
        self.start_path, self.untrained = str(path), False

    def mark_saved(self, path: Path) -> None:
        """The stage's checkpoint is complete: the next stage starts from it."""
        self.start_path = str(path)
