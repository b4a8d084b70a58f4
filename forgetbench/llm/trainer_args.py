"""Keyword arguments every TRL trainer config gets: CPU-safe precision, no checkpointing, our logging."""
from __future__ import annotations

import torch

from forgetbench.loop.console import verbose


def compute_precision(weight_dtype: str = "float32") -> str:
    """What the trainers compute in: bf16 autocast over the weights on CUDA with bf16 support,
    else the weights' own dtype (fp32 on CPU)."""
    cuda = torch.cuda.is_available()
    return "bfloat16 autocast" if cuda and torch.cuda.is_bf16_supported() else weight_dtype


def common_trainer_kwargs(*, output_dir: str, max_steps: int, learning_rate: float, seed: int,
                          activation_checkpointing: bool = False, logging_steps: int = 10,
                          **extra) -> dict:
    """fp32 on CPU (bf16 fakes update sparsity and is slow there), bf16 on CUDA where supported;
    no activation checkpointing for small models; the HF W&B callback is off (our Tracker logs with
    a step axis that does not restart between stages); no step-based saving (the loop checkpoints)."""
    cuda = torch.cuda.is_available()
    return dict(
        output_dir=output_dir, max_steps=max_steps, learning_rate=learning_rate, seed=seed,
        data_seed=seed, use_cpu=not cuda, bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        activation_checkpointing=activation_checkpointing, report_to="none", save_strategy="no",
        logging_steps=logging_steps, dataloader_num_workers=0, disable_tqdm=not verbose(), **extra)


def check_trl_args(config_cls, section: str, extra: dict, fields=()) -> dict:
    """A section's ``trl_args``: fields of the TRL config ``config_cls`` passed as they are; unknown
    names, and the fields forgetbench sets itself (``fields``: budgets, sampling, precision), are refused."""
    import dataclasses
    import difflib

    from forgetbench.errors import ForgetbenchError

    known = {f.name for f in dataclasses.fields(config_cls)}
    for key in extra:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            raise ForgetbenchError(f"config field '{section}.trl_args': {key!r} is not a {config_cls.__name__} field"
                                   f"{f' (did you mean {close[0]}?)' if close else ''}")
    clash = sorted(set(extra) & set(fields))
    if clash:
        raise ForgetbenchError(f"config field '{section}.trl_args': {clash} are set by forgetbench (budgets, sampling, "
                               f"precision); use the {section} / top-level fields instead")
    return dict(extra)


def trl_config(config_cls, section: str, fields: dict, extra: dict):
    """``config_cls(**fields, **extra)`` with ``extra`` checked by ``check_trl_args``."""
    return config_cls(**fields, **check_trl_args(config_cls, section, extra, fields))
