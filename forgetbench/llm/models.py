"""Loading the base model: the embedded tiny base (``embedded:tiny`` / ``embedded:micro``), a local
directory, a Hugging Face hub id, or a GGUF file (``gguf_file``). Always fp32 weights (drift is
measured in fp32; trainers use bf16 autocast on CUDA)."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from forgetbench.errors import ForgetbenchError

EMBEDDED_PREFIX = "embedded:"


def _tupled(v):
    return tuple(_tupled(x) for x in v) if isinstance(v, list) else v


def resolve_model_path(name_or_path: str, base_recipe: dict | None = None) -> str:
    """A loadable path or hub id; builds (or finds cached) the embedded base."""
    if name_or_path.startswith(EMBEDDED_PREFIX):
        from forgetbench.llm.tiny_base import RECIPES, ensure_base

        name = name_or_path[len(EMBEDDED_PREFIX):]
        if name not in RECIPES:
            raise ForgetbenchError(f"model_name_or_path {name_or_path!r}: unknown embedded base; "
                                   f"known: {', '.join(EMBEDDED_PREFIX + n for n in RECIPES)}")
        recipe = RECIPES[name]
        if base_recipe:
            fields = {f.name for f in dataclasses.fields(recipe)}
            bad = sorted(set(base_recipe) - fields)
            if bad:
                raise ForgetbenchError(f"config field 'base_recipe': unknown key(s) {bad}; known: {sorted(fields)}")
            recipe = dataclasses.replace(recipe, **{k: _tupled(v) for k, v in base_recipe.items()})
        return str(ensure_base(name, recipe))
    return name_or_path


def load_model_and_tokenizer(path: str, gguf_file: str | None = None):
    kw = {"gguf_file": gguf_file} if gguf_file else {}
    looks_local = path.startswith((".", "/", "~")) or os.path.sep in path and Path(path).exists()
    if looks_local and not Path(path).expanduser().exists():
        raise ForgetbenchError(f"model path {path!r} does not exist")
    if gguf_file:
        try:
            import gguf  # noqa: F401
        except ImportError:
            raise ForgetbenchError(f"gguf_file {gguf_file!r} needs the 'gguf' package: "
                                   f"pip install -e '.[real]'") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kw)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kw)
    except (OSError, ValueError) as e:
        offline = " (the hub is offline: HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ForgetbenchError(f"cannot load model {path!r}{offline}: {str(e).splitlines()[0]}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
