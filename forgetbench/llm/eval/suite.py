"""The tasks a model is measured on, and how: the one code path behind a run's stage measurement
(``LLMLearner.evaluate`` / ``divergences`` / ``extras``), the ``ForgettingCallback`` and
``forgetbench measure``, so that the three give the same numbers for the same weights.

- accuracy: ``evaluate_tasks`` (greedy; sampled when ``eval.sampled``) inside ``seeded(seed)``, on each
  task's eval rows (the first ``limit`` of them when given) formatted by ``chat.PromptFormat``; lm-eval
  tasks (``eval.lm_eval``) become columns ``lm_eval/<task>``;
- KL: ``lm_kl`` (forward KL(π0‖π), nats per sequence) on the first ``kl.n_prompts`` eval prompts of a
  task, ``kl.n_samples`` samples per prompt of at most the task's ``max_new_tokens``, seeded with ``seed``;
  the base's samples are drawn once and kept while the base is the same object.

``shard=False`` measures on this process alone (no collective call): the callback's main process.
"""
from __future__ import annotations

from forgetbench.config.schema import EvalParams, KLParams
from forgetbench.llm.chat import PromptFormat
from forgetbench.llm.eval import lm_eval_suite
from forgetbench.llm.eval.diversity import answer_diversity
from forgetbench.llm.eval.evaluate import evaluate_tasks
from forgetbench.llm.eval.generation import seeded
from forgetbench.measures.divergence import lm_kl
from forgetbench.plugins.registry import get_task


def load_tasks(names, task_options: dict | None = None) -> dict:
    """``{name: Task}`` in order, duplicates dropped; an unknown name fails with its close matches."""
    options = task_options or {}
    return {n: get_task(n, **options.get(n, {})) for n in dict.fromkeys(names)}


class TaskSuite:
    """Eval rows of ``tasks`` for one tokenizer; evaluation and KL with the loop's settings."""

    def __init__(self, tasks: dict, tokenizer, *, chat_template="auto", chat_system: str | None = None,
                 eval: EvalParams | None = None, kl: KLParams | None = None, seed: int = 0,
                 limit: int | None = None):
        self.tasks, self.seed = tasks, seed
        self.eval, self.kl = eval or EvalParams(), kl or KLParams()
        self.lm_eval = self.eval.lm_eval
        self.fmt = PromptFormat(tokenizer, chat_template, chat_system)
        self.rows = {n: self.fmt.rows(list(t.load("eval")))[:limit] for n, t in tasks.items()}
        self._draws: tuple = (None, {})  # (the base, its kept KL draws): ``lm_kl``'s ``draws``

    def names(self) -> list[str]:
        """The columns: the tasks, then ``lm_eval/<task>`` per lm-eval task."""
        return list(self.tasks) + lm_eval_suite.columns(self.lm_eval)

    def evaluate(self, model, tokenizer, checkpoint: str | None = None, shard: bool = True) -> dict:
        """``{column: {"greedy": acc, "sampled": acc or None, "correct": "0110…" or None}}``."""
        e = self.eval
        with seeded(self.seed):  # sampled accuracy: the same seed at every measurement
            out = evaluate_tasks(model, tokenizer, {n: (self.tasks[n], self.rows[n]) for n in self.tasks},
                                 sampled=e.sampled, n_samples=e.n_samples, batch_size=e.batch_size, shard=shard,
                                 share_prefix=e.share_prefix)
        if self.lm_eval.tasks:  # the model as it is now; vllm reads ``checkpoint``
            run = lm_eval_suite.evaluate_suite if shard else lm_eval_suite.run_suite
            suite = run(model, tokenizer, self.lm_eval, checkpoint)
            out.update({n: {"greedy": r["accuracy"], "sampled": None, "correct": r["correct"]}
                        for n, r in suite.items()})
        return out

    def kl_on(self, base, model, tokenizer, name: str, sample_from: str = "base", shard: bool = True) -> dict:
        """``lm_kl`` on task ``name``'s first ``kl.n_prompts`` eval prompts: ``dict(mean, stderr, n)``."""
        k = self.kl
        prompts = [r["prompt"] for r in self.rows[name][:k.n_prompts]]
        return lm_kl(base, model, tokenizer, prompts, n_samples=k.n_samples,
                     max_new_tokens=self.tasks[name].max_new_tokens, batch_size=k.batch_size,
                     sample_from=sample_from, seed=self.seed, shard=shard,
                     draws=self.base_draws(base) if sample_from == "base" else None)

    def keep_draws(self, base, store) -> None:
        """Keep ``base``'s draws in ``store`` (a dict-like, e.g. a ``DiskMemo`` across runs)."""
        self._draws = (base, store)

    def base_draws(self, base) -> dict:
        """The forward KL's samples from ``base`` (and its logits), kept while the same base object is
        passed: drawn once per run or callback, not once per measurement (the same numbers)."""
        if self._draws[0] is not base:
            self._draws = (base, {})
        return self._draws[1]

    def divergences(self, base, model, tokenizer, task: str | None, old_tasks: list[str], shard: bool = True) -> dict:
        """A stage row's ``kl``: forward KL on the new task's prompts (and reverse; ``None`` without a new
        task) and the mean forward KL over the old tasks' prompts (the suite's own tasks, not lm-eval's)."""
        new = self.kl_on(base, model, tokenizer, task, shard=shard) if task else {"mean": None, "stderr": None}
        old_tasks = [t for t in old_tasks if t in self.tasks]
        old = [self.kl_on(base, model, tokenizer, t, shard=shard)["mean"] for t in old_tasks]
        reverse = self.kl_on(base, model, tokenizer, task, "model", shard=shard)["mean"] if task else None
        return {"new_task_forward_kl": new["mean"], "new_task_forward_kl_stderr": new["stderr"],
                "old_task_forward_kl": sum(old) / len(old) if old else None,
                "old_task_forward_kl_per_task": dict(zip(old_tasks, old)),
                "new_task_reverse_kl": reverse}

    def extras(self, model, tokenizer, last_eval: dict, task: str | None) -> dict:
        """A stage row's ``extras``: sampled accuracy (when measured) and the new task's answer diversity
        (``eval.diversity_samples`` > 0)."""
        sampled = {n: r["sampled"] for n, r in last_eval.items() if r.get("sampled") is not None}
        out = {"sampled_accuracy": sampled} if sampled else {}
        if self.eval.diversity_samples and task:
            out["new_task_diversity"] = answer_diversity(model, tokenizer, self.tasks[task],
                                                         self.rows[task][:self.kl.n_prompts],
                                                         self.eval.diversity_samples, seed=self.seed)
        return out
