"""Rebuild an embedded base recipe into the shipped layout (for users who change the world).

    python -m forgetbench.llm.base_model.build tiny-r1 --out DIR          # one recipe as shipped
    python -m forgetbench.llm.base_model.build tiny-r0 --set steps=900 --set seed=7 --out DIR
    python -m forgetbench.llm.base_model.build all --out forgetbench/bases # every shipped base, in place

The build pins torch to the recipe's ``threads`` (1 by default): the same machine rebuilds a
recipe bit-identically (same sha256); another CPU or library version may round differently and give
a different, equally valid base. ``--check`` rebuilds into a temporary directory and compares the
weights' sha256 with the shipped ones.
"""
from __future__ import annotations

import argparse
import dataclasses
import ast
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
from datasets import Dataset
from transformers import LlamaConfig, LlamaForCausalLM

from forgetbench.llm.base_model.char_tokenizer import build_char_tokenizer
from forgetbench.llm.base_model.recipes import ALIASES, RECIPES, BaseRecipe
from forgetbench.plugins.registry import discover, get_task


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
    from forgetbench.llm.eval.evaluate import evaluate_tasks
    from forgetbench.llm.eval.generation import seeded
    from forgetbench.llm.base_model.load import load_model_and_tokenizer

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
    from forgetbench.loop.console import StageProgress
    from forgetbench.llm.methods.sft import train_sft
    from forgetbench.llm.base_model.shipped import write_manifest

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


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    from forgetbench.llm.base_model.files import sha256
    from forgetbench.llm.base_model.shipped import SHIPPED_ROOT

    p = argparse.ArgumentParser(prog="python -m forgetbench.llm.base_model.build", description=__doc__.split("\n\n")[0])
    p.add_argument("name", help=f"a recipe ({', '.join(n for n in RECIPES if n not in ALIASES)}) or 'all'")
    p.add_argument("--out", type=Path, help="output directory (for 'all': the parent; default: a new temp dir)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="change a recipe field")
    p.add_argument("--check", action="store_true", help="rebuild and compare sha256 with the shipped base")
    p.add_argument("--recipe_json", help="with name 'custom': every recipe field as JSON (used by base_recipe)")
    a = p.parse_args(argv)
    if a.name == "custom":

        recipe = BaseRecipe().with_overrides(json.loads(a.recipe_json or "{}"), where="--recipe_json")
        build_base(recipe, a.out or Path(tempfile.mkdtemp(prefix="base-custom-")))
        return 0
    names = [n for n in RECIPES if n not in ALIASES] if a.name == "all" else [ALIASES.get(a.name, a.name)]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        print(f"build_base: unknown recipe {unknown[0]!r}; known: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        recipe = RECIPES[name].with_overrides(_parse_set(a.set), where="--set")
        root = a.out if a.out is not None and a.name == "all" else None
        out = root / name if root else (a.out or Path(tempfile.mkdtemp(prefix=f"base-{name}-")))
        print(f"build_base: {name} (recipe {recipe.key()}, {recipe.threads} thread(s)) -> {out}", flush=True)
        meta = build_base(recipe, out)
        print(json.dumps({"name": name, "build_seconds": meta["build_seconds"], "accuracy": meta.get("accuracy"),
                          "model.safetensors": meta["sha256"]["model.safetensors"]}), flush=True)
        if a.check:
            shipped = sha256(SHIPPED_ROOT / name / "model.safetensors")
            same = shipped == meta["sha256"]["model.safetensors"]
            print(f"build_base: {name}: {'bit-identical to' if same else 'DIFFERS from'} the shipped weights")
            status |= 0 if same else 1
    return status


if __name__ == "__main__":
    from forgetbench.errors import ForgetbenchError

    try:
        sys.exit(main())
    except ForgetbenchError as e:
        print(f"build_base: error: {e}", file=sys.stderr)
        sys.exit(2)
