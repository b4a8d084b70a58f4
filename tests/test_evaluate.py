"""The evaluator on a model whose outputs we know exactly."""
import torch

from forgetbench.llm.base_model.char_tokenizer import build_char_tokenizer
from forgetbench.llm.eval.evaluate import evaluate_tasks
from forgetbench.plugins.registry import get_task


class TableModel(torch.nn.Module):
    """Answers prompt p with table[p] (then EOS); prompts not in the table get 'zz'."""

    def __init__(self, tok, table):
        super().__init__()
        self.tok, self.table, self.w = tok, table, torch.nn.Parameter(torch.zeros(1))
        self.calls = []

    def generate(self, input_ids, attention_mask, max_new_tokens, num_return_sequences=1, **kw):
        self.calls.append((input_ids.shape[0], max_new_tokens, kw.get("do_sample")))
        out = []
        for row in input_ids:
            prompt = self.tok.decode(row, skip_special_tokens=True)
            ids = self.tok(self.table.get(prompt, "zz"), add_special_tokens=False)["input_ids"]
            ids = (ids + [self.tok.eos_token_id])[:max_new_tokens]
            ids += [self.tok.pad_token_id] * (max_new_tokens - len(ids))
            for _ in range(num_return_sequences):
                out.append(torch.cat([row, torch.tensor(ids)]))
        return torch.stack(out)


def test_accuracy_matches_the_known_table():
    tok = build_char_tokenizer()
    add, ml = get_task("add"), get_task("multiple")
    add_rows, ml_rows = list(add.load("eval")), list(ml.load("eval"))
    table = {r["prompt"]: r["answer"] for r in add_rows[:150]}            # 150/200 right
    table.update({r["prompt"]: " " + r["answer"].split(",")[0] for r in ml_rows[:50]})  # k itself: right
    table.update({r["prompt"]: r["answer"].split(",")[1] for r in ml_rows[50:100]})     # n itself: wrong
    model = TableModel(tok, table)
    res = evaluate_tasks(model, tok, {"add": (add, add_rows), "multiple": (ml, ml_rows)},
                         sampled=True, n_samples=3, batch_size=64)
    assert res["add"] == {"greedy": 0.75, "sampled": 0.75, "correct": "1" * 150 + "0" * 50}
    assert res["multiple"]["greedy"] == 0.25 and res["multiple"]["correct"] == "1" * 50 + "0" * 150
    # batches of at most 64, each task's own generation limit, greedy then sampled
    assert {c[1] for c in model.calls} == {add.max_new_tokens, ml.max_new_tokens}
    assert max(c[0] for c in model.calls) == 64
    assert {c[2] for c in model.calls} == {True, False}


def test_two_processes_gather_per_example_correctness_in_eval_order(monkeypatch):
    """Each process scores every 2nd row; the gathered per-example string is in eval order."""
    from types import SimpleNamespace

    import forgetbench.llm.eval.evaluate as ev

    tok = build_char_tokenizer()
    add = get_task("add")
    rows = list(add.load("eval"))[:10]
    right = {0, 1, 2, 5, 9}
    model = TableModel(tok, {r["prompt"]: r["answer"] for i, r in enumerate(rows) if i in right})
    parts = {}
    for rank in (1, 0):   # rank 1 "sends" first; rank 0's gather returns both parts, rank 0 first
        monkeypatch.setattr(ev, "PartialState", lambda rank=rank: SimpleNamespace(process_index=rank, num_processes=2))
        monkeypatch.setattr(ev, "gather_object", lambda mine, rank=rank: parts.setdefault(rank, mine) and
                            (parts.get(0, []) + parts.get(1, [])))
        out = ev.evaluate_tasks(model, tok, {"add": (add, rows)}, batch_size=4)
    assert out["add"]["correct"] == "".join("1" if i in right else "0" for i in range(10)) == "1110010001"
    assert out["add"]["greedy"] == 0.5
