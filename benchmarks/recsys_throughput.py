"""Throughput of the recommender simulator: vectorised vs a per-user Python loop.

One *interaction* = one user shown one slate: policy scores over the catalogue -> an exact
Plackett-Luce slate -> exact slate CTR -> one sampled click.

- vectorised (what the learners run): per call (one "round", frozen policy) every segment user is
  scored once and gets a cached CDF (``SlateSampler``); ``--batch`` interactions of random users are
  then drawn, scored exactly and clicked in a handful of batched ops.
- loop: the same library functions, one interaction at a time (score that user, Gumbel-top-K
  slate, which is cheaper than a CDF for a single draw, CTR, click), with one torch thread (tiny
  ops only lose to thread-pool wake-ups).

Reports the median over ``--repeats`` timings of each, interactions/s and the speed-up.

    python benchmarks/recsys_throughput.py            # default size
    python benchmarks/recsys_throughput.py --quick    # a few seconds
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads libgomp
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# torch and the simulator: imported by _import() once the options are parsed (--help stays instant)
torch = RecsysConfig = RecsysEnv = PolicyModel = gumbel_topk = SlateSampler = None


def _import() -> None:
    global torch, RecsysConfig, RecsysEnv, PolicyModel, gumbel_topk, SlateSampler
    import torch

    from recsys_sim.config import RecsysConfig
    from recsys_sim.env import RecsysEnv
    from recsys_sim.policy import PolicyModel, gumbel_topk
    from recsys_sim.sampler import SlateSampler


def _round(model, env, seg, users, available, g):
    """The simulator's hot path for a batch of interactions (users may repeat)."""
    sampler = SlateSampler(model.scores(seg.features, available))
    slates = sampler.sample(users, env.cfg.slate_size, g)
    return env.slate_ctr(seg, slates, users), env.sample_clicks(seg, slates, g, users)


def _one(model, env, seg, user, available, g):
    """One interaction of one user (``user`` is a 1-element index tensor)."""
    slates = gumbel_topk(model.scores(seg.features[user], available), env.cfg.slate_size, g)
    return env.slate_ctr(seg, slates, user), env.sample_clicks(seg, slates, g, user)


def _time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    ap.add_argument("--total", type=int, default=None, help="interactions per vectorised timing")
    ap.add_argument("--batch", type=int, default=65_536, help="interactions per vectorised call")
    ap.add_argument("--loop-users", type=int, default=None, help="users timed in the Python loop")
    ap.add_argument("--repeats", type=int, default=None, help="timings per path (median; >= 3; default 3, full 5)")
    ap.add_argument("--threads", default="1,2",
                    help="torch intra-op thread counts tried for the vectorised path (best is kept)")
    a = ap.parse_args(argv)
    _import()
    torch.set_grad_enabled(False)
    total = a.total or (131_072 if a.quick else 1_048_576)
    batch = a.batch
    loop_users = a.loop_users or (300 if a.quick else 2_000)
    repeats = max(3, a.repeats or (3 if a.quick else 5))
    threads = [int(t) for t in str(a.threads).split(",")]

    cfg = RecsysConfig()
    env = RecsysEnv(cfg, seed=0)
    seg = env.segment("cohort_a")
    available = env.available_items(["cohort_b"])
    model = PolicyModel(cfg.n_categories, cfg.n_items, cfg.dim, cfg.user_hidden, cfg.init_std, seed=0)
    g = torch.Generator().manual_seed(0)
    users = torch.randint(seg.n_users, (total,), generator=g)
    chunks = [c.sort().values for c in users.split(batch)]   # a round's users, in user order
    loop_ids = [u.view(1) for u in users[:loop_users]]

    def vectorised():
        for u in chunks:
            _round(model, env, seg, u, available, g)

    def loop():
        for u in loop_ids:
            _one(model, env, seg, u, available, g)

    per_threads = {}
    for n in threads:
        torch.set_num_threads(n)
        vectorised()                                                       # warm-up
        per_threads[n] = total / _time(vectorised, repeats)
    best = max(per_threads, key=per_threads.get)
    torch.set_num_threads(1)
    loop()
    t_loop = _time(loop, repeats)
    vec, loop_rate = per_threads[best], loop_users / t_loop
    res = {"catalogue": int(available.sum()), "slate_size": cfg.slate_size, "threads": best,
           "batch": batch, "vectorised_per_s": vec, "vectorised_by_threads": per_threads,
           "loop_per_s": loop_rate, "speedup": vec / loop_rate}
    print(f"recsys throughput ({res['catalogue']} items, K={cfg.slate_size}, median of {repeats}):")
    for n, v in per_threads.items():
        print(f"  vectorised  {v:14,.0f} interactions/s  ({total:,} in calls of {batch:,}, {n} threads)")
    print(f"  Python loop {loop_rate:14,.0f} interactions/s  ({loop_users:,} users one at a time, 1 thread)")
    print(f"  speed-up    {vec / loop_rate:14,.0f}x  (best vectorised / loop)")
    return res


if __name__ == "__main__":
    main()
