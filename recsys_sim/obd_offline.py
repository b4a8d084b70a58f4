"""Real-log evaluation: off-policy learners trained on the real BTS logs, evaluated on the real
random logs of the same OBD campaign by inverse propensity scoring.

Logged impression t: user features x_t, item a_t shown at position p_t, click r_t, and the logging
policy's propensity pi_b(a_t | x_t, p_t) (``propensity_score``). For an evaluation policy pi_e with
pi_e(a | x, p) = P(pi_e shows a at position p to x), importance weight w_t = pi_e(a_t|x_t,p_t) /
pi_b(a_t|x_t,p_t), and per impression (the estimand: the policy's expected clicks per impression)

    IPS    V = (1/n) sum_t w_t r_t,                 se = sd_t(w_t r_t) / sqrt(n),
    SNIPS  V = sum_t w_t r_t / sum_t w_t            (self-normalised: sum w_t / n -> 1 in expectation).

These are obp's ``InverseProbabilityWeighting`` and ``SelfNormalizedInverseProbabilityWeighting``
(a test checks equality when obp's dependencies are installed). The evaluated policy is the learner's
deterministic greedy slate: its rank-k item at OBD position k, so pi_e(a|x,p) = 1[slate(x)_p = a];
on the random logs pi_b = 1 / n_items, so w_t = n_items for the matching impressions, 0 otherwise.

Training (``train_on_logs``): the learners' own losses (``learners.LOSSES``: ``ctr``, ``next_item``,
``ips``) on the BTS logs, one row = a slate of one item (the logged one); ``ips``'s beta(a|x) is the
logged propensity P(a at p_t) (BTS's action probability for that slot).

CLI: ``python -m recsys_sim.obd_offline --campaigns men women --seeds 0 1 2 3 4 --out FILE.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass

import numpy as np
import torch

from forgetbench.errors import ForgetbenchError
from recsys_sim import learners, obd_clicks, obd_data
from recsys_sim.config import RecsysConfig
from recsys_sim.env import Segment
from recsys_sim.policy import PolicyModel, greedy_slates
from recsys_sim.rollouts import Logged

METHODS = ("ctr", "next_item", "ips")


def ips(reward, pscore, pi_e) -> tuple[float, float]:
    """(V_IPS, its standard error) = (mean_t w_t r_t, sd(w r) / sqrt(n)), w_t = pi_e / pscore."""
    wr = np.asarray(pi_e, float) / np.asarray(pscore, float) * np.asarray(reward, float)
    return float(wr.mean()), float(wr.std(ddof=1) / math.sqrt(len(wr)))


def snips(reward, pscore, pi_e) -> float:
    """V_SNIPS = sum_t w_t r_t / sum_t w_t (0 when no weight is positive)."""
    w = np.asarray(pi_e, float) / np.asarray(pscore, float)
    return float((w * np.asarray(reward, float)).sum() / w.sum()) if w.sum() > 0 else 0.0


@dataclass
class RealLogs:
    """One (policy, campaign) log as tensors; ``positions`` 1..3, ``items`` campaign-local ids."""

    features: torch.Tensor
    items: torch.Tensor
    positions: torch.Tensor
    clicks: torch.Tensor
    pscore: torch.Tensor
    n_items: int


def real_logs(policy: str, campaign: str, model: obd_clicks.ObdClickModel) -> RealLogs:
    df = obd_data.load_logs(policy, campaign)
    return RealLogs(model.encode_users(df), torch.tensor(df["item_id"].to_numpy()),
                    torch.tensor(df["position"].to_numpy()), torch.tensor(df["click"].to_numpy()),
                    torch.tensor(df["propensity_score"].to_numpy()), obd_data.n_items(campaign))


def greedy_probability(slates: torch.Tensor, logs: RealLogs) -> torch.Tensor:
    """pi_e(a_t | x_t, p_t) of greedy slates (n, K) (rank k shown at position k): 1[slate_{p_t} = a_t]."""
    return (slates.gather(1, (logs.positions - 1)[:, None]).squeeze(1) == logs.items).double()


def train_on_logs(method: str, logs: RealLogs, cfg: RecsysConfig, seed: int, epochs: int) -> PolicyModel:
    """``epochs`` passes of ``method``'s loss over the logged rows in minibatches (Adam)."""
    if method not in METHODS:
        raise ValueError(f"real-log training: method {method!r} is not one of {METHODS}")
    model = PolicyModel(logs.features.shape[1], logs.n_items, cfg.dim, cfg.user_hidden, cfg.init_std, seed)
    n = logs.items.shape[0]
    seg = Segment("logs", logs.features, torch.zeros(n, 1), torch.zeros(n, 1), torch.ones(1, dtype=torch.bool))
    data = Logged(torch.arange(n), logs.items[:, None], torch.where(logs.clicks > 0, 0, -1),
                  propensity=logs.pscore.float()[:, None])
    available = torch.ones(logs.n_items, dtype=torch.bool)
    ctx = {"offset": learners.ctr_offset(model, seg, data), "method": method}
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rates[method])
    g = torch.Generator().manual_seed(seed * 7 + 1)
    for _ in range(epochs):
        for idx in torch.randperm(n, generator=g).split(cfg.batch_size):
            loss = learners.LOSSES[method](model, seg, data.take(idx), cfg, available, ctx)
            if loss is None:
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model


@torch.no_grad()
def evaluate(model: PolicyModel, logs: RealLogs, k: int) -> dict[str, float]:
    """IPS (with se) and SNIPS of the model's greedy slates on ``logs``."""
    pi_e = greedy_probability(greedy_slates(model.scores(logs.features), k), logs).numpy()
    value, se = ips(logs.clicks.numpy(), logs.pscore.numpy(), pi_e)
    return {"ips": value, "ips_se": se, "snips": snips(logs.clicks.numpy(), logs.pscore.numpy(), pi_e),
            "matched": int((pi_e > 0).sum())}


def run(campaigns: list[str], seeds: list[int], epochs: int = 10, lr: float = 0.03) -> dict:
    """Every method x seed per campaign, plus the reference values of the two logging policies."""
    cfg = RecsysConfig.from_dict({"slate_size": 3, "learning_rates": {m: lr for m in METHODS}})
    model = obd_clicks.build(tuple(campaigns))
    out: dict = {"epochs": epochs, "learning_rate": lr, "campaigns": {}}
    for campaign in campaigns:
        bts, rnd = real_logs("bts", campaign, model), real_logs("random", campaign, model)
        uniform = torch.full_like(bts.pscore, 1.0 / bts.n_items)
        res = {"random_logged_ctr": float(rnd.clicks.double().mean()),
               "bts_logged_ctr": float(bts.clicks.double().mean()),
               "random_from_bts_ips": ips(bts.clicks, bts.pscore, uniform)[0],
               "random_from_bts_snips": snips(bts.clicks, bts.pscore, uniform), "methods": {}}
        for method in METHODS:
            res["methods"][method] = [dict(seed=s, **evaluate(train_on_logs(method, bts, cfg, s, epochs), rnd, 3))
                                      for s in seeds]
        out["campaigns"][campaign] = res
    return out


def markdown(result: dict) -> list[str]:
    """One table per campaign: per method the mean over seeds of IPS (+- its mean se) and SNIPS."""
    lines = []
    for campaign, res in result["campaigns"].items():
        lines += [f"**{campaign}** (random logs' CTR {res['random_logged_ctr']:.4f}; BTS logged CTR "
                  f"{res['bts_logged_ctr']:.4f}; the random policy estimated from the BTS logs: IPS "
                  f"{res['random_from_bts_ips']:.4f}, SNIPS {res['random_from_bts_snips']:.4f})", "",
                  "| learner (trained on BTS logs) | seeds | IPS on random logs (± se) | SNIPS | matched rows |",
                  "|---|---|---|---|---|"]
        for method, rows in res["methods"].items():
            mean = lambda key: float(np.mean([r[key] for r in rows]))  # noqa: E731
            lines.append(f"| `{method}` | {len(rows)} | {mean('ips'):.4f} ± {mean('ips_se'):.4f} | "
                         f"{mean('snips'):.4f} | {mean('matched'):.0f} |")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--campaigns", nargs="+", default=["men", "women"], choices=["men", "women"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--out", default=None, help="write the results as JSON here (and .md beside it)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        result = run(args.campaigns, args.seeds, args.epochs, args.lr)
    except ForgetbenchError as e:
        print(f"forgetbench: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    text = "\n".join(markdown(result))
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        with open(args.out.removesuffix(".json") + ".md", "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
