"""``forgetbench measure --base B --model M``: what fine-tuning B into M forgot, with the code of a run's
stage measurement — ``loop.stage_measurer.InlineMeasurer`` over the suite of ``llm.eval.suite`` (the
same evaluation, drift and KL as ``LLMLearner``), then ``measures.continual`` and ``measures.per_example``
— so for a run's base and its stage-1 checkpoint, with the run's settings (``--config``, ``--new_task``),
the numbers equal that stage's row of ``results.json``.

B and M: anything ``forgetbench.load_model`` takes (``embedded:`` names, directories, ``.gguf`` files,
hub ids); M may be a LoRA adapter directory, applied to B and merged (drift is then of the merged weights).
Old tasks: every task but ``--new_task``; ``old_task_decline`` = mean over them of acc(B) − acc(M);
``example_events``: examples right on B and wrong on M (``forgetting_events``) and the reverse, summed
over the old tasks; ``kl``: forward KL(B‖M) on the old (and new) tasks' prompts.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from forgetbench.errors import ForgetbenchError

NO_TASK = "(no new task)"  # the placeholder trained column when --new_task is not given (never old)


class _Pair:
    """The Learner protocol over two fixed models: ``current`` is the one measured (B, then M)."""

    def __init__(self, suite, base, model, tokenizer):
        self.suite, self.base, self.model, self.tokenizer = suite, base, model, tokenizer
        self.current, self.last_eval = base, {}

    def evaluate(self) -> dict:
        self.last_eval = self.suite.evaluate(self.current, self.tokenizer)
        return {n: r["greedy"] for n, r in self.last_eval.items()}

    def per_example(self) -> dict:
        return {n: r["correct"] for n, r in self.last_eval.items() if r["correct"] is not None}

    def parameters(self):
        return dict(self.current.named_parameters())

    def base_parameters(self):
        return dict(self.base.named_parameters())

    def divergences(self, task, old_tasks):
        return self.suite.divergences(self.base, self.current, self.tokenizer, task, old_tasks)

    def extras(self, task):
        return self.suite.extras(self.current, self.tokenizer, self.last_eval, task)


def _settings(config: str | None, args) -> object:
    """The Config whose eval, kl, seed, dtype, chat and task options apply (a run's, or the defaults)."""
    from forgetbench.config.schema import config_class, load_config

    cfg = load_config(["--config", config]) if config else config_class()()
    for field, value in (("n_prompts", args.kl_prompts), ("n_samples", args.kl_samples)):
        if value is not None:
            setattr(cfg.kl, field, value)
    if args.lm_eval_tasks is not None:
        cfg.eval.lm_eval.tasks = list(args.lm_eval_tasks)
    return cfg


def _load_pair(base: str, model: str, dtype: str):
    from forgetbench.llm.base_model.load import load_model
    from forgetbench.llm.lora import is_adapter, with_adapter

    b, tokenizer = load_model(base, dtype)
    m = with_adapter(load_model(base, dtype)[0], model, merge=True) if is_adapter(model) else load_model(model, dtype)[0]
    for x in (b, m):
        x.eval().requires_grad_(False)
    return b, m, tokenizer


def measure(base: str, model: str, args) -> dict:
    """The measurement of ``model`` against ``base`` (see module doc); ``args``: the command's options."""
    from forgetbench.llm.eval import lm_eval_suite
    from forgetbench.llm.eval.suite import TaskSuite, load_tasks
    from forgetbench.loop.stage_measurer import InlineMeasurer
    from forgetbench.measures.continual import continual_metrics
    from forgetbench.measures.per_example import example_events
    from forgetbench.plugins.registry import discover

    cfg = _settings(args.config, args)
    discover(list(cfg.include_path) + list(args.include_path or []))
    names = list(dict.fromkeys(args.tasks or (cfg.tasks + cfg.prior_tasks)))
    if args.new_task is not None and args.new_task not in names:
        names.insert(0, args.new_task)
    tasks = load_tasks(names, cfg.task_options)  # unknown names fail before any model loads
    lm_eval_suite.check(cfg.eval.lm_eval)
    seed = cfg.seeds[0] if args.seed is None else args.seed
    b, m, tokenizer = _load_pair(base, model, cfg.dtype)
    suite = TaskSuite(tasks, tokenizer, chat_template=cfg.chat_template, chat_system=cfg.chat_system,
                      eval=cfg.eval, kl=cfg.kl, seed=seed, limit=args.eval_limit)
    pair = _Pair(suite, b, m, tokenizer)
    measurer = InlineMeasurer(pair)            # the previous weights: B's
    m0 = measurer.measure({"kind": "base"})
    pair.current = m
    cols = suite.names()
    old = [c for c in cols if c != args.new_task]
    m1 = measurer.measure({"kind": "stage", "task": args.new_task, "old": old})
    new = args.new_task or NO_TASK
    table = cols + ([NO_TASK] if args.new_task is None else [])
    R = [[x["accuracy"].get(c, 0.0) for c in table] for x in (m0, m1)]
    metrics = continual_metrics(R, ["base", new], table)
    events = example_events([m0["per_example"], m1["per_example"]], ["base", new], table)
    return {"base": base, "model": model, "new_task": args.new_task, "tasks": cols, "old_tasks": old,
            "accuracy": {"base": m0["accuracy"], "model": m1["accuracy"]},
            "decline": {c: m0["accuracy"][c] - m1["accuracy"][c] for c in cols},
            "old_task_decline": metrics["old_task_decline"][0],
            "new_task_gain": metrics["new_task_gain"][0] if args.new_task else None,
            "per_example": {"base": m0["per_example"], "model": m1["per_example"]},
            "example_events": {k: v[0] for k, v in events.items()},
            "drift": m1["drift"], "kl": m1["kl"], "extras": m1["extras"],
            "settings": {"config": args.config, "seed": seed, "eval_limit": args.eval_limit,
                         "kl": vars(cfg.kl), "dtype": cfg.dtype, "lm_eval_tasks": list(cfg.eval.lm_eval.tasks)}}


def table_lines(r: dict) -> list[str]:
    """Per task: accuracy on B and M, the decline, the examples forgotten (right on B, wrong on M); then
    the totals, drift and KL."""
    width = max(8, *(len(t) for t in r["tasks"]))
    lines = [f"{'task':<{width}}  {'base':>6}  {'model':>6}  {'decline':>8}  forgotten examples"]
    for t in r["tasks"]:
        b, m = r["per_example"]["base"].get(t), r["per_example"]["model"].get(t)
        lost = "n/a" if b is None or m is None else f"{sum(x == '1' and y == '0' for x, y in zip(b, m))} of {len(b)}"
        mark = "  (new task)" if t == r["new_task"] else ""
        lines.append(f"{t:<{width}}  {r['accuracy']['base'][t]:>6.3f}  {r['accuracy']['model'][t]:>6.3f}  "
                     f"{r['decline'][t]:>+8.3f}  {lost}{mark}")
    fmt = lambda v, f=".3f": "n/a" if v is None else format(v, f)  # noqa: E731
    e, d, kl = r["example_events"], r["drift"], r["kl"]
    return lines + ["", f"old-task decline {fmt(r['old_task_decline'])}  forgetting events {e['forgetting_events']} "
                        f"of {e['old_examples']} old examples (learning events {e['learning_events']})",
                    f"drift: relative L2 {fmt(d['relative_l2'], '.2e')}  angular {fmt(d['angular_deg'], '.4f')} deg  "
                    f"old-task forward KL {fmt(kl['old_task_forward_kl'], '.4g')}  new-task forward KL "
                    f"{fmt(kl['new_task_forward_kl'], '.4g')} (nats/sequence)"]


def parser(prog: str = "forgetbench measure") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="accuracy, decline, forgetting events, drift and KL of a model "
                                 "against its base: every task on both, as a table and JSON (a run's stage row)")
    ap.add_argument("--base", required=True, help="the model before fine-tuning (embedded:tiny, a directory, a "
                    ".gguf file, a hub id)")
    ap.add_argument("--model", required=True, help="the fine-tuned model (the same kinds, or a LoRA adapter "
                    "directory, applied to --base)")
    ap.add_argument("--tasks", nargs="+", help="forgetbench tasks (default: the config's tasks and prior_tasks)")
    ap.add_argument("--new_task", help="the task M was trained on (not old; its KL is the new-task KL)")
    ap.add_argument("--lm_eval_tasks", nargs="*", help="lm-evaluation-harness tasks (columns lm_eval/<task>)")
    ap.add_argument("--config", help="a run's config (file or shipped name): its eval, kl, seed, dtype, chat "
                    "template, task options and tasks")
    ap.add_argument("--seed", type=int, help="the seed of sampled measures (default: the config's first seed)")
    ap.add_argument("--kl_prompts", type=int, help="prompts per task for the KL (default: kl.n_prompts, 32)")
    ap.add_argument("--kl_samples", type=int, help="samples per KL prompt (default: kl.n_samples, 2)")
    ap.add_argument("--eval_limit", type=int, help="the first N eval examples per task (default: all)")
    ap.add_argument("--include_path", nargs="*", default=[], help="directories of plug-in tasks")
    ap.add_argument("--out", help="write the result as JSON to this file")
    return ap


def main(argv: list[str], prog: str = "forgetbench measure") -> int:
    args = parser(prog).parse_args(argv)
    try:
        for name in ("kl_prompts", "kl_samples", "eval_limit"):
            if getattr(args, name) is not None and getattr(args, name) < 1:
                raise ForgetbenchError(f"--{name} must be >= 1, got {getattr(args, name)}")
        result = measure(args.base, args.model, args)
    except ForgetbenchError as e:
        print(f"forgetbench: error: {e}", file=sys.stderr)
        return 2
    print("\n".join([f"{args.model} against {args.base}", ""] + table_lines(result)))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True))
        print(f"\nwritten: {args.out}")
    return 0
