"""Evaluator throughput: ``evaluate_tasks`` (batched) vs a per-example ``generate`` loop.

Both paths run greedy decoding of every task's fixed eval set on the embedded tiny base, with each
task's own ``max_new_tokens``, and score the completions with the task:

- batched (what the harness runs): ``forgetbench.llm.eval.evaluate.evaluate_tasks`` (left padding, KV
  cache, ``eval.batch_size`` prompts per ``generate`` call);
- loop (the baseline): one prompt at a time — tokenize, ``model.generate`` (greedy, KV cache, stop
  at EOS), decode, score.

Generated tokens = the tokens of each greedy completion up to and including its EOS (at most
``max_new_tokens``), counted the same way for both paths; padding after an early EOS in a batch is
not counted. Reports the median over ``--repeats`` rounds (each round times both paths back to back, per thread
count, so that both see the same load on a shared CPU) of each path's seconds, tokens/s and the
speed-up (median of the per-round ratios), and checks that the two paths produce the same
completions.

    python benchmarks/eval_throughput.py            # all 1,250 prompts in both paths, 1 and 2 threads
    python benchmarks/eval_throughput.py --quick    # loop on 20 prompts per task, 1 thread (< 1 min)

On a CPU shared with other processes, libgomp's default spin-waiting makes 2 torch threads 10-20x
slower than 1; this script sets ``OMP_WAIT_POLICY=PASSIVE`` unless the environment sets it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads libgomp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

TASKS = ["copy", "reverse", "add", "even_between", "sum_to", "multiple", "rotate"]


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="loop on --loop-per-task prompts per task, 1 thread, 3 repeats (< 1 min)")
    ap.add_argument("--repeats", type=int, default=3, help="timings per path (median; >= 3)")
    ap.add_argument("--threads", default=None,
                    help="torch intra-op thread counts, comma-separated (default 1,2; --quick: 1)")
    ap.add_argument("--loop-per-task", type=int, default=None,
                    help="prompts per task in the per-example loop (default: all; --quick: 20)")
    ap.add_argument("--batch-size", type=int, default=256, help="the evaluator's eval.batch_size")
    ap.add_argument("--base", default="tiny", help="embedded base (tiny or micro)")
    a = ap.parse_args(argv)
    threads = [int(t) for t in (a.threads or ("1" if a.quick else "1,2")).split(",")]
    per_task = a.loop_per_task or (20 if a.quick else None)
    repeats = max(3, a.repeats)

    import torch

    from forgetbench.llm.eval.evaluate import evaluate_tasks
    from forgetbench.llm.base_model.load import load_model_and_tokenizer
    from forgetbench.llm.base_model.shipped import embedded_base
    from forgetbench.plugins.registry import discover, get_task

    discover()
    model, tok = load_model_and_tokenizer(str(embedded_base(a.base)))
    model.eval()
    tasks = {n: get_task(n) for n in TASKS}
    eval_sets = {n: (t, list(t.load("eval"))) for n, t in tasks.items()}
    n_prompts = sum(len(r) for _, r in eval_sets.values())
    loop_rows = [(tasks[n], r) for n, (_, rows) in eval_sets.items() for r in rows[:per_task]]

    def n_tokens(completion: str, task) -> int:   # completion tokens + the EOS, capped
        ids = tok(completion, add_special_tokens=False)["input_ids"]
        return min(task.max_new_tokens, len(ids) + 1)

    @torch.no_grad()
    def loop():
        out = []
        for task, row in loop_rows:
            enc = tok([row["prompt"]], return_tensors="pt")
            seq = model.generate(**enc, max_new_tokens=task.max_new_tokens, do_sample=False, temperature=None,
                                 top_k=None, top_p=None, pad_token_id=tok.pad_token_id,
                                 eos_token_id=tok.eos_token_id, use_cache=True)
            new = seq[0, enc["input_ids"].shape[1]:]
            text = tok.decode(new, skip_special_tokens=True)
            out.append((text, task.checked_score(text, row), new.numel()))
        return out

    def batched():
        return evaluate_tasks(model, tok, eval_sets, batch_size=a.batch_size)

    # The batched path's completions (untimed), to count its tokens and compare with the loop.
    from forgetbench.llm.eval.generation import generate_completions

    torch.set_num_threads(1)
    comps = {n: generate_completions(model, tok, [r["prompt"] for r in rows], t.max_new_tokens,
                                     batch_size=a.batch_size) for n, (t, rows) in eval_sets.items()}
    batched_tokens = sum(n_tokens(c, tasks[n]) for n, cs in comps.items() for c in cs)
    batched_by_row = {(n, i): c for n, cs in comps.items() for i, c in enumerate(cs)}

    res = {"threads": {}, "prompts": n_prompts, "loop_prompts": len(loop_rows), "batched_tokens": batched_tokens}
    for n in threads:                                                     # warm-up of both paths
        torch.set_num_threads(n)
        batched()
        model.generate(**tok([loop_rows[0][1]["prompt"]], return_tensors="pt"), max_new_tokens=1,
                       pad_token_id=tok.pad_token_id)
    times = {n: {"batched": [], "loop": []} for n in threads}
    for r in range(repeats):          # interleaved, so that every path sees the same load on a shared CPU
        for n in threads:
            torch.set_num_threads(n)
            t = time.perf_counter()
            acc = batched()
            times[n]["batched"].append(time.perf_counter() - t)
            t = time.perf_counter()
            loop_out = loop()
            times[n]["loop"].append(time.perf_counter() - t)
            print(f"[round {r + 1}/{repeats}] {n} thread(s): batched {times[n]['batched'][-1]:.2f}s, "
                  f"loop {times[n]['loop'][-1]:.2f}s", file=sys.stderr, flush=True)
    loop_tokens = sum(o[2] for o in loop_out)
    for n in threads:
        t_b, t_l = statistics.median(times[n]["batched"]), statistics.median(times[n]["loop"])
        res["threads"][n] = {"batched_s": t_b, "loop_s": t_l, "batched_tok_s": batched_tokens / t_b,
                             "loop_tok_s": loop_tokens / t_l, "loop_tokens": loop_tokens,
                             "speedup": statistics.median((batched_tokens / b) / (loop_tokens / lp) for b, lp
                                                          in zip(times[n]["batched"], times[n]["loop"]))}

    # Same completions? (loop order = task order, first per_task rows of each task)
    keys = [(n, i) for n, (_, rows) in eval_sets.items() for i in range(len(rows[:per_task]))]
    same = sum(batched_by_row[k] == o[0] for k, o in zip(keys, loop_out))
    loop_tok_count = sum(n_tokens(batched_by_row[k], tasks[k[0]]) for k in keys)
    res.update(same=same, token_count_check=(loop_tok_count, res["threads"][threads[-1]]["loop_tokens"]))
    if loop_tok_count != res["token_count_check"][1]:
        print(f"warning: token counts differ between the two counting methods: {res['token_count_check']}")

    print(f"eval throughput: embedded:{a.base}, {len(TASKS)} tasks, greedy, median of {repeats} "
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')})")
    print(f"  batched: evaluate_tasks on all {n_prompts} prompts (batch_size {a.batch_size}), "
          f"{batched_tokens} generated tokens")
    print(f"  loop:    one prompt per generate call on {len(loop_rows)} prompts"
          f"{f' ({per_task} per task)' if per_task else ''}, {res['threads'][threads[-1]]['loop_tokens']} tokens")
    print(f"  | threads | batched s | batched tok/s | loop s | loop tok/s | speed-up |")
    print(f"  |---|---|---|---|---|---|")
    for n, r in res["threads"].items():
        print(f"  | {n} | {r['batched_s']:.2f} | {r['batched_tok_s']:,.0f} | {r['loop_s']:.2f} | "
              f"{r['loop_tok_s']:,.0f} | {r['speedup']:.1f}x |")
    best_b = max(res["threads"], key=lambda n: res["threads"][n]["batched_tok_s"])
    best_l = max(res["threads"], key=lambda n: res["threads"][n]["loop_tok_s"])
    res["speedup_best"] = res["threads"][best_b]["batched_tok_s"] / res["threads"][best_l]["loop_tok_s"]
    print(f"  speed-up, best batched ({best_b} thr) / best loop ({best_l} thr): {res['speedup_best']:.1f}x "
          f"(goal >= 10x)")
    print(f"  identical greedy completions, loop vs batched: {same}/{len(keys)}; "
          f"greedy accuracy (batched): " + ", ".join(f"{n} {v['greedy']:.3f}" for n, v in acc.items()))
    return res


if __name__ == "__main__":
    main()
