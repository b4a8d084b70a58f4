"""The ``eval.lm_eval`` section: lm-evaluation-harness tasks as old-task columns
(``forgetbench.llm.eval.lm_eval_suite``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from forgetbench.config.marks import ADDED


@dataclass
class LMEvalParams:
    """lm-evaluation-harness tasks run after the base and every stage (``forgetbench.llm.eval.lm_eval_suite``)."""
    #: lm-eval task or group names; each is a column ``lm_eval/<task>``, a prior skill. Empty = off.
    tasks: list[str] = field(default_factory=list)
    #: Few-shot examples (null = each task's own default, 0 when it has none).
    num_fewshot: Optional[int] = None
    #: Documents per task: a count, or a fraction when < 1 (null = all).
    limit: Optional[float] = None
    batch_size: int = 32
    #: Folders of your own lm-eval task YAMLs (the shipped forgetbench/lm_eval_tasks is always included).
    include_path: list[str] = field(default_factory=list)
    #: hf (the model in memory) or vllm (lm-eval's vLLM model on each stage's checkpoint; GPU).
    backend: str = "hf"
    #: Further arguments of lm-eval's model class, e.g. ``{gpu_memory_utilization: 0.3}`` for vllm.
    model_args: dict[str, Any] = field(default_factory=dict)
    #: Render every document through the tokenizer's chat template (lm-eval's ``apply_chat_template``):
    #: the context is ``template([system?, user: doc_to_text], add_generation_prompt=True)`` and the
    #: answer is the assistant's reply (multiple choice: the choice right after the template, no delimiter).
    apply_chat_template: bool = field(default=False, metadata=ADDED)
    #: A system message (lm-eval's ``system_instruction``): first in the chat with ``apply_chat_template``,
    #: else plain text before each document. null = none.
    system_instruction: Optional[str] = field(default=None, metadata=ADDED)
