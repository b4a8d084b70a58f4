"""The teacher of ``kd`` and ``opd``: ``teacher: expert`` or any model path.

``expert`` = the stage-start model fine-tuned by SFT on the task's teacher targets for the stage's
training prompts (``expert.max_steps`` steps, null = ``max_steps``, of ``prompts_per_step`` rows at
``expert.learning_rate``; through LoRA when the run uses LoRA, then merged). It is built once per
stage and seed into ``<run dir>/teachers/stage<k>`` (with ``teacher.json``: its recipe and its
greedy accuracy on the task's eval set), so a resumed run reuses it instead of training it again.
A path teacher is loaded as it is (``embedded:…``, a directory, a hub id while online); its
accuracy is measured the same way. A missing or unloadable path is one error naming the field.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

from accelerate import PartialState
from datasets import Dataset

from forgetbench.errors import ForgetbenchError
from forgetbench.llm.eval.evaluate import evaluate_tasks
from forgetbench.loop.store import atomic_write_json, read_json

EXPERT = "expert"
INFO = "teacher.json"


def check_teacher(section: str, teacher: str) -> None:
    """Fail early (before any run starts) on a teacher path that cannot be loaded."""
    if teacher == EXPERT:
        return
    from transformers import AutoConfig

    from forgetbench.llm.base_model.load import resolve_model_path

    try:
        AutoConfig.from_pretrained(resolve_model_path(teacher))
    except ForgetbenchError as e:
        raise ForgetbenchError(f"config field '{section}.teacher': {e}") from None
    except (OSError, ValueError) as e:
        raise ForgetbenchError(f"config field '{section}.teacher': cannot load {teacher!r} "
                               f"(give 'expert' or a model path): {str(e).splitlines()[0]}") from None


def _accuracy(model, tokenizer, stage) -> float:
    rows = stage.eval_rows
    return evaluate_tasks(model, tokenizer, {stage.task.name: (stage.task, rows)},
                          batch_size=stage.cfg.eval.batch_size)[stage.task.name]["greedy"]


def stage_teacher(stage, section: str):
    """``(model, tokenizer, info)`` of the stage's teacher; ``info`` goes into the stage's train stats."""
    teacher = getattr(stage.cfg, section).teacher
    if teacher != EXPERT:
        return _path_teacher(stage, section, teacher)
    where = stage.teacher_dir / f"stage{stage.number}"
    if (where / INFO).is_file():
        from forgetbench.llm.base_model.load import load_model_and_tokenizer

        model, tok = load_model_and_tokenizer(str(where), dtype=stage.cfg.dtype)
        return model.eval(), tok, {**read_json(where / INFO), "path": str(where), "reused": True}
    model = _train_expert(stage)
    info = {"teacher": EXPERT, "new_task_accuracy": _accuracy(model, stage.tokenizer, stage),
            "learning_rate": stage.cfg.expert.learning_rate,
            "max_steps": stage.cfg.expert.max_steps or stage.cfg.max_steps}
    state = PartialState()
    if state.is_main_process:
        tmp = where.parent / f".{where.name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp)
        stage.tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / INFO, info)
        tmp.rename(where)
    state.wait_for_everyone()
    return model, stage.tokenizer, {**info, "path": str(where), "reused": False}


def _train_expert(stage):
    from forgetbench.llm.lora import add_lora, merge_lora
    from forgetbench.llm.methods.sft import train_sft

    cfg = stage.cfg
    expert = copy.deepcopy(stage.model)  # not trained yet: the stage-start weights
    if cfg.peft:
        expert = expert.merge_and_unload()  # the run's fresh adapter (B = 0) off: a plain copy
    trained = add_lora(expert, cfg.peft) if cfg.peft else expert
    rows = Dataset.from_list([{"prompt": r["prompt"], "completion": r["target"]} for r in stage.rows])
    common = {k: v for k, v in stage.common.items() if k not in ("steps", "callbacks", "on_trained")}
    with tempfile.TemporaryDirectory() as tmp:
        train_sft(trained, stage.tokenizer, rows, steps=cfg.expert.max_steps or cfg.max_steps,
                  batch_size=cfg.prompts_per_step, learning_rate=cfg.expert.learning_rate, output_dir=tmp, **common)
    return (merge_lora(trained) if cfg.peft else expert).eval()


def _path_teacher(stage, section: str, teacher: str):
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path

    check_teacher(section, teacher)
    path = resolve_model_path(teacher)
    model, tok = load_model_and_tokenizer(path, dtype=stage.cfg.dtype)
    model.eval().requires_grad_(False)
    return model, tok, {"teacher": teacher, "path": str(Path(path)),
                        "new_task_accuracy": _accuracy(model, tok, stage)}
