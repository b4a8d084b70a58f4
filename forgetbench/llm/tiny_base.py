"""The embedded base recipes: a char-level Llama of ~1M parameters, pretrained by the project itself.

Pretraining mixture: the prior skills, plus a light exposure (a small fraction of all rows per
task, calibrated by measurement) to the new tasks with answers drawn uniformly among the correct
ones, so the base knows the prior skills well and the new tasks only partly. The replicas
``tiny-r0`` … ``tiny-r2`` share one recipe and differ only in the pretraining ``seed``.

The bases are **shipped** built (``forgetbench/bases/<name>/``, see ``shipped_base``); this module
is what builds them (``python -m forgetbench.llm.build_base``) and what builds a changed recipe
(config ``base_recipe``) into ``$FORGETBENCH_CACHE``. A build pins torch to ``recipe.threads``
threads, so one machine rebuilds a recipe bit-identically; other CPUs may round differently.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from forgetbench.llm.char_tokenizer import build_char_tokenizer
from forgetbench.registry import discover, get_task

RECIPE_VERSION = 3


def _tupled(v):
    return tuple(_tupled(x) for x in v) if isinstance(v, list) else v


@dataclasses.dataclass(frozen=True)
class BaseRecipe:
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 384
    steps: int = 1800
    batch_size: int = 64
    learning_rate: float = 2e-3
    prior_tasks: tuple[str, ...] = ("copy", "reverse", "add")
    #: New tasks and the fraction of all pretraining rows each gets (uniformly drawn correct answers).
    new_tasks: tuple[tuple[str, float], ...] = (("even_between", 0.015), ("sum_to", 0.1),
                                               ("multiple", 0.008), ("rotate", 0.03))
    seed: int = 1234
    #: torch threads during the build (a different count changes float reductions, hence the weights).
    threads: int = 1

    def with_overrides(self, overrides: dict, where: str = "base_recipe") -> "BaseRecipe":
        """This recipe with ``overrides`` (field -> value; YAML/JSON lists become tuples); an unknown
        field is one ForgetbenchError naming ``where``."""
        from forgetbench.errors import ForgetbenchError

        fields = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(overrides) - fields)
        if bad:
            raise ForgetbenchError(f"config field {where!r}: unknown key(s) {bad}; known: {sorted(fields)}")
        return dataclasses.replace(self, **{k: _tupled(v) for k, v in overrides.items()})

    def key(self) -> str:
        blob = json.dumps({"v": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


_TINY = BaseRecipe()
#: Replicas of the tiny recipe (only the seed differs); ``tiny`` is replica 0.
REPLICAS = {f"tiny-r{i}": dataclasses.replace(_TINY, seed=_TINY.seed + i) for i in range(3)}
RECIPES = {
    "tiny": REPLICAS["tiny-r0"],
    **REPLICAS,
    # A micro base for tests and smoke runs: built in seconds, competence not guaranteed.
    "micro": BaseRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, steps=120,
                        batch_size=32, learning_rate=3e-3,
                        new_tasks=(("even_between", 0.05), ("sum_to", 0.03), ("multiple", 0.05), ("rotate", 0.05))),
}
#: Names that are the same shipped files (``embedded:tiny`` is ``embedded:tiny-r0``).
ALIASES = {"tiny": "tiny-r0"}


def pretraining_rows(recipe: BaseRecipe) -> Dataset:
    """Deterministic prompt-completion rows: each new task at its fraction with its
    ``pretraining_answer`` (a uniformly drawn correct one unless the task says otherwise), the prior
    skills evenly over the rest; eval prompts are never used."""
    discover()
    rng = random.Random(recipe.seed)
    prior = [get_task(n) for n in recipe.prior_tasks]
    new = [(get_task(n), f) for n, f in recipe.new_tasks]
    banned = {t.name: set(t.load("eval")["prompt"]) for t in prior + [t for t, _ in new]}
    rows = []
    while len(rows) < recipe.steps * recipe.batch_size:
        u, task, is_new = rng.random(), None, False
        for t, f in new:
            if u < f:
                task, is_new = t, True
                break
            u -= f
        task = task or rng.choice(prior)
        ex = task.checked_example(rng)
        if ex["prompt"] in banned[task.name]:
            continue
        answer = task.pretraining_answer(ex, rng) if is_new else ex["target"]
        rows.append({"prompt": ex["prompt"], "completion": answer})
    return Dataset.from_list(rows)


def base_accuracies(path: Path, recipe: BaseRecipe) -> dict[str, dict]:
    """Greedy and sampled (4 samples, T=1, seed 0) accuracy of a built base on every task's eval set."""
    from forgetbench.llm.evaluate import evaluate_tasks
    from forgetbench.llm.generation import seeded
    from forgetbench.llm.models import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(str(path))
    names = list(recipe.prior_tasks) + [n for n, _ in recipe.new_tasks]
    tasks = {n: get_task(n) for n in names}
    with seeded(0):
        acc = evaluate_tasks(model.eval(), tok, {n: (t, list(t.load("eval"))) for n, t in tasks.items()},
                             sampled=True, n_samples=4)
    return {n: {"greedy": round(a["greedy"], 4), "sampled": round(a["sampled"], 4)} for n, a in acc.items()}


def build_base(recipe: BaseRecipe, out_dir: Path, evaluate: bool = True) -> dict:
    """Pretrain a fresh model with TRL's SFTTrainer on ``recipe.threads`` torch threads; save model,
    tokenizer and ``base.json`` (recipe, key, accuracies, sha256 of every file) to ``out_dir``."""
    import tempfile

    from forgetbench.console import StageProgress
    from forgetbench.llm.methods.sft import train_sft
    from forgetbench.llm.shipped_base import write_manifest

    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        tokenizer = build_char_tokenizer()
        torch.manual_seed(recipe.seed)
        config = LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=recipe.hidden_size, num_hidden_layers=recipe.num_layers,
            num_attention_heads=recipe.num_heads, num_key_value_heads=recipe.num_heads,
            intermediate_size=recipe.intermediate_size, max_position_embeddings=64,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
        model = LlamaForCausalLM(config)
        start = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            train_sft(model, tokenizer, pretraining_rows(recipe), steps=recipe.steps,
                      batch_size=recipe.batch_size, learning_rate=recipe.learning_rate, seed=recipe.seed,
                      output_dir=tmp, warmup_ratio=0.05, lr_scheduler_type="cosine", weight_decay=0.01,
                      logging_steps=max(1, recipe.steps // 10),
                      callbacks=[StageProgress(f"pretraining base {recipe.key()}")])
        seconds = round(time.time() - start, 1)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        meta = {"recipe": dataclasses.asdict(recipe), "key": recipe.key(), "n_params": model.num_parameters(),
                "build_seconds": seconds, "torch": torch.__version__}
        if evaluate:
            meta["accuracy"] = base_accuracies(out_dir, recipe)
    finally:
        torch.set_num_threads(threads)
    return write_manifest(out_dir, meta)
