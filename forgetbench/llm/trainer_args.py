"""Keyword arguments every TRL trainer config gets: CPU-safe precision, no checkpointing, our logging."""
from __future__ import annotations

import torch

from forgetbench.console import verbose


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
