"""The evaluator on a model whose outputs we know exactly."""
import torch

from forgetbench.llm.char_tokenizer import build_char_tokenizer
from forgetbench.llm.evaluate import evaluate_tasks
from forgetbench.registry import get_task


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
    assert res["add"] == {"greedy": 0.75, "sampled": 0.75}
    assert res["multiple"]["greedy"] == 0.25
    # batches of at most 64, each task's own generation limit, greedy then sampled
    assert {c[1] for c in model.calls} == {add.max_new_tokens, ml.max_new_tokens}
    assert max(c[0] for c in model.calls) == 64
    assert {c[2] for c in model.calls} == {True, False}
