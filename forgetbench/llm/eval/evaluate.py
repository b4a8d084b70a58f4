"""The evaluator: accuracy of a model on every task's fixed eval set.

Rows may carry a chat-formatted ``prompt`` (``chat.PromptFormat.rows``): the model sees that, the
task scores against its own example (``raw_example``).

Greedy accuracy = mean score of the greedy completion; sampled accuracy = mean score over
``n_samples`` completions per prompt at T=1. Prompts are sharded across processes and the scores
gathered, so every process returns the same numbers (``shard=False``: this process evaluates every
prompt alone, with no collective call).
"""
from __future__ import annotations

from accelerate import PartialState
from accelerate.utils import gather_object

from forgetbench.llm.chat import raw_example
from forgetbench.llm.eval.generation import generate_completions
from forgetbench.measures.per_example import correctness
from forgetbench.plugins.task import Task


def _sharded_scores(model, tokenizer, task: Task, rows: list[dict], *, do_sample: bool, n: int,
                    batch_size: int, shard: bool = True, share_prefix: bool = False) -> list[float]:
    state = PartialState()
    world, rank = (state.num_processes, state.process_index) if shard else (1, 0)
    idx = list(range(len(rows)))[rank::world]
    mine = [rows[i] for i in idx]
    completions = generate_completions(model, tokenizer, [r["prompt"] for r in mine], task.max_new_tokens,
                                       do_sample=do_sample, num_return_sequences=n, batch_size=batch_size,
                                       share_prefix=share_prefix)
    scores = [task.checked_score(c, raw_example(mine[j // n])) for j, c in enumerate(completions)]
    if world == 1:
        return scores
    indexed = gather_object([(idx[j // n], j % n, s) for j, s in enumerate(scores)])
    return [s for _, _, s in sorted(indexed)]  # back in eval order (each process held every n-th row)


def evaluate_tasks(model, tokenizer, eval_sets: dict[str, tuple[Task, list[dict]]], *,
                   sampled: bool = False, n_samples: int = 4, batch_size: int = 256,
                   shard: bool = True, share_prefix: bool = False) -> dict[str, dict]:
    """``{task: {"greedy": acc, "sampled": acc or None, "correct": "0110…"}}`` over each task's eval
    rows (``correct``: the greedy completion's correctness per example, in eval order); ``share_prefix``:
    ``generation.generate_completions``'s."""
    result = {}
    for name, (task, rows) in eval_sets.items():
        greedy = _sharded_scores(model, tokenizer, task, rows, do_sample=False, n=1, batch_size=batch_size,
                                 shard=shard, share_prefix=share_prefix)
        entry = {"greedy": sum(greedy) / len(greedy), "sampled": None, "correct": correctness(greedy)}
        if sampled:
            s = _sharded_scores(model, tokenizer, task, rows, do_sample=True, n=n_samples, batch_size=batch_size,
                                shard=shard)
            entry["sampled"] = sum(s) / len(s)
        result[name] = entry
    return result
