"""Teachers of the distillation methods (kd, opd) on the micro base: the named model, the expert built
once per stage and reused on resume."""
import pytest
import torch
from datasets import Dataset

from forgetbench.config.schema import load_config
from forgetbench.launch.experiment import run_experiment
from test_spectrum import MICRO, ROOT, SMOKE, results


@pytest.fixture(scope="module")
def other_teacher(tmp_path_factory, micro_base_path):
    """A teacher that is not the student: the micro base with its weights moved, saved as a path."""
    from forgetbench.llm.base_model.load import load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(micro_base_path)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("teacher") / "moved"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_kd_trains_on_the_teachers_samples(micro_base_path, other_teacher, monkeypatch):
    import forgetbench.llm.methods.sft as sft
    from forgetbench.llm.learner import LLMLearner
    from forgetbench.llm.methods.kd import teacher_rows
    from forgetbench.llm.base_model.load import load_model_and_tokenizer

    seen = []
    real = sft.train_sft
    monkeypatch.setattr(sft, "train_sft", lambda model, tok, rows, **kw: seen.append(list(rows)) or real(model, tok, rows, **kw))
    cfg = load_config(SMOKE + ["--methods", "kd", "--max_steps", "2", "--kd.teacher", str(other_teacher),
                               "--kd.samples_per_prompt", "2"])
    learner = LLMLearner(cfg, "kd", 0, micro_base_path)
    stats = learner.train_stage("sum_to", 1)
    (rows,) = seen
    assert len(rows) == 2 * 8 * 2 and stats["sft_rows"] == 32  # every prompt x 2 teacher samples
    assert stats["teacher"]["teacher"] == str(other_teacher)
    prompts = [r["prompt"] for r in rows[::2]]
    teacher, tok = load_model_and_tokenizer(str(other_teacher))
    expected = teacher_rows(teacher, tok, [{"prompt": p} for p in prompts], 8, 2, 1.0, seed=1)
    assert [r["completion"] for r in rows] == [r["completion"] for r in expected]
    student, _ = load_model_and_tokenizer(micro_base_path)
    own = teacher_rows(student, tok, [{"prompt": p} for p in prompts], 8, 2, 1.0, seed=1)
    assert [r["completion"] for r in rows] != [r["completion"] for r in own]  # not the student's samples


def test_opd_teacher_is_the_named_model_and_samples_come_from_the_student(micro_base_path, other_teacher, tmp_path):
    from forgetbench.llm.methods.opd import OPDParams
    from forgetbench.llm.methods.opd import build_opd_trainer
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.plugins.registry import get_task

    student, tok = load_model_and_tokenizer(micro_base_path)
    teacher, _ = load_model_and_tokenizer(str(other_teacher))
    named, _ = load_model_and_tokenizer(str(other_teacher))
    calls = []
    real = student.generate
    student.generate = lambda *a, **k: calls.append(k.get("input_ids", a[0] if a else None)) or real(*a, **k)

    def refuse(*a, **k):
        raise AssertionError("the teacher generated")
    teacher.generate = refuse
    task = get_task("sum_to")
    rows = Dataset.from_list(list(task.load("train"))[:8])
    trainer = build_opd_trainer(student, tok, teacher, task, rows, OPDParams(learning_rate=1e-3), steps=2,
                                prompts_per_step=4, seed=0, output_dir=str(tmp_path))
    trainer.train()
    assert len(calls) == 2 and all(ids.shape[0] == 4 for ids in calls)  # 4 prompts x 1 student sample per step
    held = dict(trainer.teacher_model.named_parameters())
    for name, p in named.named_parameters():
        assert torch.equal(held[name], p), name  # the named teacher, untouched by training


def test_expert_is_built_once_and_reused(micro_base_path, tmp_path):
    from forgetbench.llm.learner import LLMLearner
    from forgetbench.llm.teacher import stage_teacher
    from forgetbench.plugins.methods import Stage

    cfg = load_config(SMOKE + ["--methods", "kd", "--max_steps", "2"])
    learner = LLMLearner(cfg, "kd", 0, micro_base_path, run_dir=tmp_path)
    task = learner.tasks["sum_to"]
    rows = task.load("train").select(range(16))
    common = dict(steps=2, seed=1, callbacks=[], activation_checkpointing=False)
    stage = Stage(cfg, "kd", cfg.kd, 1, task, rows, learner.eval_rows["sum_to"], learner.model, learner.model,
                  learner.start_path, learner.tokenizer, {}, str(tmp_path / "o"), common, learner.teacher_dir)
    first, _, info = stage_teacher(stage, "kd")
    again, _, info2 = stage_teacher(stage, "kd")
    assert (tmp_path / "teachers" / "stage1" / "teacher.json").is_file() and not info["reused"] and info2["reused"]
    assert info2["new_task_accuracy"] == info["new_task_accuracy"]
    for (name, a), (_, b) in zip(first.named_parameters(), again.named_parameters()):
        assert torch.equal(a, b), name
    moved = any(not torch.equal(a, b) for a, b in zip(first.parameters(), learner.base.parameters()))
    assert moved  # the expert was fine-tuned from the stage start


def test_a_resumed_run_reuses_the_stage_teacher(tmp_path):
    """A run stopped after building stage 2's expert (before its checkpoint) resumes with that expert and
    ends with the uninterrupted run's numbers."""
    import shutil

    argv = ["--config", str(ROOT / "configs" / "smoke.yaml"), "--methods", "kd", "--max_steps", "2", *MICRO]
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "full")]) == 0
    full = results(tmp_path / "full", "kd")
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "cut"), "--max_stages", "1"]) == 0
    shutil.copytree(tmp_path / "full" / "kd" / "seed0" / "teachers" / "stage2",
                    tmp_path / "cut" / "kd" / "seed0" / "teachers" / "stage2")
    assert run_experiment(argv + ["--output_dir", str(tmp_path / "cut")]) == 0
    resumed = results(tmp_path / "cut", "kd")
    assert resumed["train_stats"][1]["teacher"]["reused"] and not full["train_stats"][1]["teacher"]["reused"]
    assert resumed["accuracy"] == full["accuracy"]
