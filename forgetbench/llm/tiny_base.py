"""The embedded base: a char-level Llama of ~1M parameters, pretrained by the project itself.

Pretraining mixture: the prior skills, plus a light exposure (a small fraction of all rows per
task, calibrated by measurement) to the new tasks with answers drawn uniformly among the correct
ones, so the base knows the prior skills well and the new tasks only partly. Built once, deterministically, and cached in
``$FORGETBENCH_CACHE`` (default ``~/.cache/forgetbench``) under a key hashed from the recipe.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from forgetbench.llm.char_tokenizer import build_char_tokenizer
from forgetbench.registry import discover, get_task

RECIPE_VERSION = 1


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
    new_tasks: tuple[tuple[str, float], ...] = (("even_between", 0.002), ("sum_to", 0.15),
                                               ("multiple", 0.008), ("subtract", 0.02))
    seed: int = 1234

    def key(self) -> str:
        blob = json.dumps({"v": RECIPE_VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


RECIPES = {
    "tiny": BaseRecipe(),
    # A micro base for tests and smoke runs: built in seconds, competence not guaranteed.
    "micro": BaseRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, steps=120,
                        batch_size=32, learning_rate=3e-3,
                        new_tasks=(("even_between", 0.05), ("sum_to", 0.03), ("multiple", 0.05), ("subtract", 0.05))),
}


def cache_root() -> Path:
    return Path(os.environ.get("FORGETBENCH_CACHE", Path.home() / ".cache" / "forgetbench"))


def pretraining_rows(recipe: BaseRecipe) -> Dataset:
    """Deterministic prompt-completion rows: each new task at its fraction with a uniformly drawn
    correct answer, the prior skills evenly over the rest; eval prompts are never used."""
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
        answer = rng.choice(task.correct_answers(ex)) if is_new else ex["target"]
        rows.append({"prompt": ex["prompt"], "completion": answer})
    return Dataset.from_list(rows)


def build_base(recipe: BaseRecipe, out_dir: Path) -> None:
    """Pretrain a fresh model with TRL's SFTTrainer and save model + tokenizer to ``out_dir``."""
    from forgetbench.llm.methods.sft import train_sft

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
                  logging_steps=max(1, recipe.steps // 10))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    meta = {"recipe": dataclasses.asdict(recipe), "key": recipe.key(), "n_params": model.num_parameters(),
            "build_seconds": round(time.time() - start, 1)}
    (out_dir / "recipe.json").write_text(json.dumps(meta, indent=1))


def ensure_base(name: str = "tiny", recipe: BaseRecipe | None = None) -> Path:
    """Path of the cached base ``name`` (building it first if its recipe changed or it is missing).
    Under several processes only the main one builds; the others wait for it."""
    from accelerate import PartialState

    recipe = recipe or RECIPES[name]
    path = cache_root() / f"base-{name}-{recipe.key()}"
    state = PartialState()
    with state.main_process_first():
        if state.is_main_process and not (path / "recipe.json").exists():
            print(f"[forgetbench] building the embedded base {name!r} (recipe {recipe.key()}) -> {path}",
                  flush=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
            try:
                build_base(recipe, tmp)
                shutil.rmtree(path, ignore_errors=True)
                os.replace(tmp, path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return path
