"""Evaluation with the prompts' shared prefix computed once (``eval.share_prefix``) vs the plain path.

Both paths generate the greedy completions of every own task's eval set of a config (its chat template
and system turn applied, ``eval.batch_size`` prompts per batch, each task's ``max_new_tokens``) on the
config's base model, with ``generation.generate_completions``:

- plain (the baseline): left padding, the whole prompt through the model for every row;
- shared: the batch's shared token prefix (a chat template's system turn) computed once, its KV cache
  repeated over the batch, each prompt's rest left-padded after it.

Each round times both paths back to back (order alternating), so both see the same load; reports the
median seconds of each path, the median per-round ratio shared / plain, and whether every completion
is identical.

    python benchmarks/eval_shared_prefix.py                           # SmolLM2 (answer_map_smollm2)
    python benchmarks/eval_shared_prefix.py --config smoke --quick    # the tiny base: no long prefix
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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="answer_map_smollm2", help="a shipped config name or a YAML path")
    ap.add_argument("--quick", action="store_true", help="the first 32 eval prompts per task, 3 repeats")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (median; >= 3)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    a = ap.parse_args(argv)

    import torch

    from forgetbench.config.named import resolve_config
    from forgetbench.config.schema import load_config
    from forgetbench.llm.base_model.load import load_model_and_tokenizer, resolve_model_path
    from forgetbench.llm.eval.generation import MIN_SHARED_PREFIX, _shared_length, generate_completions
    from forgetbench.llm.eval.suite import TaskSuite, load_tasks

    torch.set_num_threads(a.threads)
    cfg = load_config(["--config", str(resolve_config(a.config))])
    path = resolve_model_path(cfg.model_name_or_path, cfg.base_recipe, cfg.gguf_file)
    model, tok = load_model_and_tokenizer(path, dtype=cfg.dtype)
    model.eval()
    suite = TaskSuite(load_tasks(cfg.tasks + cfg.prior_tasks, cfg.task_options), tok, chat_template=cfg.chat_template,
                      chat_system=cfg.chat_system, eval=cfg.eval, kl=cfg.kl, seed=0)
    sets = {n: (suite.tasks[n], [r["prompt"] for r in suite.rows[n]][:32 if a.quick else None]) for n in suite.tasks}
    bs = cfg.eval.batch_size

    def run(share: bool) -> tuple[float, dict]:
        t = time.perf_counter()
        out = {n: generate_completions(model, tok, p, task.max_new_tokens, batch_size=bs, share_prefix=share)
               for n, (task, p) in sets.items()}
        return time.perf_counter() - t, out

    plain_s, shared_s, ratios, same, total = [], [], [], 0, 0
    for i in range(max(3, a.repeats)):
        order = (False, True) if i % 2 == 0 else (True, False)
        got = {share: run(share) for share in order}
        plain_s.append(got[False][0])
        shared_s.append(got[True][0])
        ratios.append(got[True][0] / got[False][0])
        same += sum(x == y for n in sets for x, y in zip(got[False][1][n], got[True][1][n]))
        total += sum(len(p) for _, p in sets.values())
    prefix = {n: _shared_length(tok(p[:bs])["input_ids"]) for n, (_, p) in sets.items()}
    res = {"plain_s": statistics.median(plain_s), "shared_s": statistics.median(shared_s),
           "ratio": statistics.median(ratios), "identical": same, "completions": total, "prefix_tokens": prefix}
    n_prompts = sum(len(p) for _, p in sets.values())
    print(f"shared-prefix evaluation: {a.config} ({cfg.model_name_or_path}), {len(sets)} tasks, {n_prompts} "
          f"prompts, batch_size {bs}, {a.threads} thread(s), median of {len(ratios)} rounds")
    print(f"  shared prefix per task (tokens; the path needs >= {MIN_SHARED_PREFIX}): "
          + ", ".join(f"{n} {k}" for n, k in prefix.items()))
    print(f"  plain {res['plain_s']:.1f} s, shared {res['shared_s']:.1f} s: shared / plain = {res['ratio']:.2f} "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"  identical completions: {same}/{total}")
    return res


if __name__ == "__main__":
    main()
