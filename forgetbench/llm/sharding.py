"""Full weights back after a sharded (FSDP) stage.

The loop evaluates, measures drift and KL, and checkpoints on full weights in every process. Under
DDP and DeepSpeed ZeRO-2 every process already holds them; FSDP shards them during training (and
``fully_shard`` turns the module's parameters into shards in place). So after an FSDP stage the
full state dict is gathered (FULL_STATE_DICT, complete on the main process), broadcast, and loaded
into a fresh, unsharded copy of the model, which the next stage shards again.
"""
from __future__ import annotations

from forgetbench.errors import ForgetbenchError


def is_fsdp(trainer) -> bool:
    from accelerate.utils import DistributedType

    return trainer.accelerator.distributed_type == DistributedType.FSDP


def gathered_state(trainer) -> dict | None:
    """Under FSDP: the full state dict on every process (CPU tensors); otherwise None."""
    if not is_fsdp(trainer):
        return None
    from accelerate.utils import broadcast_object_list

    acc = trainer.accelerator
    state = acc.get_state_dict(trainer.model_wrapped)
    box = [{k: v.detach().cpu() for k, v in state.items()} if acc.is_main_process else None]
    broadcast_object_list(box)
    return box[0]


def unsharded(model_like, state: dict):
    """A fresh model of ``model_like``'s config and dtype, on its device, holding ``state``."""
    from accelerate import PartialState
    from transformers import AutoModelForCausalLM

    if any("lora_" in k for k in state):
        raise ForgetbenchError("LoRA (peft) under FSDP is not supported: use DDP or DeepSpeed ZeRO-2")
    fresh = AutoModelForCausalLM.from_config(model_like.config, dtype=model_like.dtype)
    fresh.load_state_dict(state, strict=False)
    fresh.tie_weights()
    fresh.generation_config = model_like.generation_config
    return fresh.to(PartialState().device)
