"""LoRA through ``peft``: one fresh adapter per stage, merged into the weights when the stage ends.

Config ``peft: {r: 8, lora_alpha: 16, target_modules: [q_proj, v_proj], lora_dropout: 0.0}`` (any
``peft.LoraConfig`` field; empty = full fine-tuning). A targeted weight trains as
``W = W_stage + (lora_alpha / r) · B A`` with ``A ∈ R^{r×n}``, ``B ∈ R^{m×r}`` (B starts at 0) and
everything else frozen; after the stage ``W_stage ← W_stage + (lora_alpha / r) · B A`` (merged, fp32).

So the weights the loop sees between stages are always a plain model: drift, KL, checkpoints and
resume work on the **merged** weights (base + every stage's LoRA delta; results.json says
``drift_on: merged``), and ΔW of a targeted matrix per stage has rank ≤ r. GRPO's ``beta > 0``
reference (TRL: the model with its adapter disabled) is then the stage-start model, as without LoRA.
"""
from __future__ import annotations

from forgetbench.errors import ForgetbenchError


def lora_config(peft_cfg: dict):
    """``peft.LoraConfig(task_type="CAUSAL_LM", **peft_cfg)``, with clear errors."""
    try:
        from peft import LoraConfig
    except ImportError:
        raise ForgetbenchError("config field 'peft' needs the 'peft' package: pip install peft "
                               "(or pip install -e '.[real]')") from None
    try:
        return LoraConfig(task_type="CAUSAL_LM", **peft_cfg)
    except (TypeError, ValueError) as e:
        raise ForgetbenchError(f"config field 'peft': {e}") from None


def add_lora(model, peft_cfg: dict):
    """``model`` wrapped with a fresh, trainable LoRA adapter (all other weights frozen)."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, lora_config(peft_cfg))
    except ValueError as e:  # e.g. target modules not found in the model
        raise ForgetbenchError(f"config field 'peft': {str(e).splitlines()[0]}") from None


def merge_lora(peft_model):
    """The plain model with the adapter's delta added to its weights (trainable again)."""
    model = peft_model.merge_and_unload()
    model.requires_grad_(True)
    return model


def trainable_count(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def is_adapter(path) -> bool:
    """A directory that holds a saved ``peft`` adapter (``adapter_config.json``)."""
    from pathlib import Path

    return (Path(str(path)).expanduser() / "adapter_config.json").is_file()


def adapter_base(path) -> str:
    """The base model an adapter directory was trained on (its ``base_model_name_or_path``)."""
    import json
    from pathlib import Path

    base = json.loads((Path(str(path)).expanduser() / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base:
        raise ForgetbenchError(f"LoRA adapter {str(path)!r}: adapter_config.json names no base_model_name_or_path")
    return base


def with_adapter(model, path, merge: bool = False):
    """``model`` with the saved adapter of ``path`` loaded (active, frozen); ``merge``: its delta added to
    the weights and the plain model returned (what drift and ``forgetbench measure`` see)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ForgetbenchError(f"{str(path)!r} is a LoRA adapter; loading it needs the 'peft' package: "
                               f"pip install peft") from None
    try:
        peft_model = PeftModel.from_pretrained(model, str(path))
    except (OSError, ValueError, RuntimeError) as e:
        raise ForgetbenchError(f"cannot load the LoRA adapter {str(path)!r}: {str(e).splitlines()[0]}") from e
    return peft_model.merge_and_unload() if merge else peft_model
