"""Calibrate the forgetting world for REACH (never for an outcome): for each learner and setting,
train the stage sequence of a config's ``recsys:`` section and print, after every stage, the
trained segment's CTR/oracle and the decline of every old segment; the wall time of the run.

    python scripts/calibrate_recsys_world.py configs/recsys.yaml ctr,onpolicy_pos \
        --set policy_dim=4 --set interactions_per_stage=40960 --lr 0.03 --seed 0
"""
from __future__ import annotations

import argparse
import time

import yaml

from recsys_sim.env import segment_name
from recsys_sim.learner import make_learner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("methods")
    ap.add_argument("--set", action="append", default=[], help="recsys field=value (YAML value)")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    section = dict(yaml.safe_load(open(a.config))["recsys"])
    for kv in a.set:
        k, v = kv.split("=", 1)
        section[k] = yaml.safe_load(v)
    for method in a.methods.split(","):
        sec = dict(section)
        if a.lr:
            sec["learning_rates"] = {**sec.get("learning_rates", {}), method: a.lr}
        t0 = time.time()
        learner = make_learner(sec, method, a.seed)
        best: dict[str, float] = {}
        lines = []
        for k, task in enumerate(learner.cfg.stages, 1):
            learner.train_stage(task, k)
            acc = learner.evaluate()
            name = segment_name(task)
            best[name] = acc[name]
            old = {n: round(best[n] - acc[n], 3) for n in best if n != name}
            lines.append(f"  {k}:{name:9s} new {acc[name]:.3f}  old declines {old}")
        print(f"{method} {a.set} lr={a.lr}: {time.time() - t0:.0f}s  min new "
              f"{min(float(x.split('new ')[1].split()[0]) for x in lines):.3f}", flush=True)
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
