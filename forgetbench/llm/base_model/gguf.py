"""GGUF files, converted once into a cached safetensors directory.

transformers reads a GGUF file (``from_pretrained(dir, gguf_file=name)``) by de-quantising every
tensor, which takes about 45 s for SmolLM2-135M on 2 cores and leaves a model that refuses to be
trained or saved (it is still marked as quantised). Here the de-quantised fp32 weights are written
once to ``$FORGETBENCH_CACHE/gguf-<file stem>-<sha256 of the file, 16 hex>/`` with the tokenizer
(chat template included) and loaded from there in milliseconds afterwards. The weights are a lossy
copy of the original model (Q4_1 etc. quantisation): fine for measuring forgetting, say so in reports.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.base_model.files import cache_root, created_once


def require_gguf(what: str) -> None:
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ForgetbenchError(f"{what}: reading GGUF files needs the 'gguf' package: "
                               f"pip install gguf (or pip install -e '.[real]')") from None


def file_digest(path: Path) -> str:
    """First 16 hex digits of the file's sha256 (the cache key: a changed file converts anew)."""
    from forgetbench.llm.base_model.files import sha256

    return sha256(path)[:16]


def locate_gguf(name_or_path: str, gguf_file: str) -> Path:
    """The GGUF file on disk: ``gguf_file`` inside a local directory, an absolute file, or a file of
    a hub repository (downloaded into the Hugging Face cache)."""
    if Path(gguf_file).is_absolute() and Path(gguf_file).is_file():
        return Path(gguf_file)
    local = Path(name_or_path).expanduser() / gguf_file
    if local.is_file():
        return local
    if Path(name_or_path).expanduser().is_dir():
        raise ForgetbenchError(f"gguf_file {gguf_file!r} not found in {name_or_path!r}")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(name_or_path, gguf_file))
    except Exception as e:  # offline, unknown repo, missing file
        offline = " (the hub is offline: HF_HUB_OFFLINE=1)" if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
        raise ForgetbenchError(f"cannot find GGUF file {gguf_file!r} of {name_or_path!r}{offline}: "
                               f"{str(e).splitlines()[0]}") from None


def _dequantised(model):
    """Drop the GGUF quantiser's marks from a model whose weights were unpacked to dense tensors
    (otherwise transformers refuses to save or train it)."""
    q = getattr(model, "hf_quantizer", None)
    if q is None:
        return model
    if getattr(q, "packed_modules", None):  # GGUF matmul kernels in use: no dense weights to train
        raise ForgetbenchError("the GGUF weights were kept in quantised blocks (the `kernels` package is "
                               "installed); uninstall it to convert the file into trainable dense weights")
    q.remove_quantization_config(model)
    return model


def convert_gguf(path: Path) -> Path:
    """Directory of the de-quantised fp32 model and tokenizer of the GGUF file ``path`` (cached).
    Under several processes only the main one converts; the others wait for it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    require_gguf(f"GGUF file {str(path)!r}")
    out = cache_root() / f"gguf-{path.stem}-{file_digest(path)}"

    def convert(tmp: Path) -> None:
        kw = dict(gguf_file=path.name)
        tokenizer = AutoTokenizer.from_pretrained(path.parent, **kw)
        model = AutoModelForCausalLM.from_pretrained(path.parent, dtype=torch.float32, **kw)
        _dequantised(model).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "source.json").write_text(json.dumps({"gguf_file": str(path), "sha256_16": out.name[-16:],
                                                     "dtype": "float32 (de-quantised)"}))

    return created_once(out, "source.json", convert,
                        announce=f"[forgetbench] converting {path} to safetensors -> {out} (once; ~1 min for "
                                 f"135M parameters on 2 cores)")
