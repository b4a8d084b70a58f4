"""Numbers behind the report: reading results.json files, one summary row per run, seed
statistics (mean and 95% t-interval), Welch's t-test and the quadratic-fit R².

Pure Python + numpy; no plotting here (see ``report_plots``), no markdown (see ``report``).
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

# Per-run summary metrics, in table order.
SUMMARY_METRICS: tuple[str, ...] = (
    "avg_accuracy", "bwt", "fwt", "forgetting", "final_old_task_decline", "mean_new_task_gain",
    "final_relative_l2", "final_angular_deg", "final_new_task_forward_kl",
    "final_old_task_forward_kl", "total_train_seconds",
)


# ----------------------------------------------------------------------------- small helpers
def num(v: Any) -> float | None:
    """``v`` as a finite-or-nan float; ``None`` for null, bools, strings and other non-numbers."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def last(seq: Any) -> Any:
    return seq[-1] if isinstance(seq, list) and seq else None


# ----------------------------------------------------------------------------- statistics
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc_reg(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """CDF of Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc_reg(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=None)
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (e.g. ``t_quantile(0.975, 1) = 12.706``), by bisection on the CDF."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class MeanCI:
    """Mean over seeds with the 95% t-interval half-width (``None`` when n < 2)."""
    mean: float | None
    half: float | None
    n: int
    sd: float | None = None


def mean_ci(values: Iterable[Any], level: float = 0.95) -> MeanCI:
    """Mean and half-width ``t_{(1+level)/2, n-1} * sd / sqrt(n)`` (sample sd, ddof=1) of the
    non-missing values; n = 1 gives no half-width, n = 0 no mean."""
    xs = [v for v in (num(x) for x in values) if v is not None]
    n = len(xs)
    if n == 0:
        return MeanCI(None, None, 0)
    m = float(np.mean(xs))
    if n == 1:
        return MeanCI(m, None, 1)
    sd = float(np.std(xs, ddof=1))
    return MeanCI(m, t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n), n, sd)


def welch_p(a: MeanCI, b: MeanCI) -> float | None:
    """Two-sided p-value of Welch's t-test between two seed samples (None when either n < 2)."""
    if a.n < 2 or b.n < 2 or a.sd is None or b.sd is None:
        return None
    va, vb = a.sd ** 2 / a.n, b.sd ** 2 / b.n
    if va + vb == 0.0:
        return 0.0 if a.mean != b.mean else 1.0
    t = (a.mean - b.mean) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
    return 2.0 * (1.0 - t_cdf(abs(t), df))


def r_squared_quadratic(x: Sequence[Any], y: Sequence[Any]) -> float | None:
    """R² = 1 - SS_res/SS_tot of the least-squares fit y ≈ a + b·x + c·x² over the pairs where both
    values are present. ``None`` when undefined: fewer than 3 distinct x values or constant y."""
    pts = [(num(a), num(b)) for a, b in zip(x, y)]
    pts = [(a, b) for a, b in pts if a is not None and b is not None
           and math.isfinite(a) and math.isfinite(b)]
    if len({a for a, _ in pts}) < 3:
        return None
    xs = np.array([a for a, _ in pts], dtype=np.float64)
    ys = np.array([b for _, b in pts], dtype=np.float64)
    ss_tot = float(np.sum((ys - ys.mean()) ** 2))
    if ss_tot == 0.0:
        return None
    design = np.stack([np.ones_like(xs), xs, xs * xs], axis=1)
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    ss_res = float(np.sum((ys - design @ coef) ** 2))
    return 1.0 - ss_res / ss_tot


def quadratic_fit(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Coefficients (c, b, a) of the least-squares quadratic, highest power first (np.polyval order)."""
    return np.polyfit(np.asarray(x, dtype=float), np.asarray(y, dtype=float), 2)


# ----------------------------------------------------------------------------- runs
class Run:
    """One results.json with the fields the report reads and its ``summary`` (see ``summarize``)."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data = Path(path), data
        self.experiment = str(data.get("experiment") or "")
        self.domain = str(data.get("domain") or "")
        self.method = str(data.get("method") or "?")
        self.label = str(data.get("label") or "")
        self.seed = data.get("seed")
        #: the method, or ``method/label`` when a label is present
        self.group = f"{self.method}/{self.label}" if self.label and self.label != self.method \
            else self.method
        self.stages = [str(x) for x in data.get("stages") or []]
        self.tasks = [str(x) for x in data.get("tasks") or []]
        self.accuracy = data.get("accuracy") or []
        self.trained = max(len(self.stages) - 1, 0)          # trained stages present
        self.planned = planned_tasks(data.get("config") or {}, self.domain)
        # the run's own ``complete`` flag when present, else stages present vs the config's plan
        flag = data.get("complete")
        self.complete = flag if isinstance(flag, bool) else \
            (self.planned is None or self.trained >= len(self.planned))
        self.summary = summarize(self)
        #: name in tables and plots; incomplete runs form their own, marked group so that their
        #: "final" values (from an earlier stage) never mix with those of complete runs
        self.table_group = self.group if self.complete else f"{self.group} (incomplete)"

    def per_stage(self, key: str) -> list:
        """A per-stage list at top level (e.g. ``defects``), else gathered from ``extras``."""
        seq = self.data.get(key)
        if isinstance(seq, list):
            return seq
        extras = self.data.get("extras")
        if isinstance(extras, list):
            return [e.get(key) if isinstance(e, dict) else None for e in extras]
        return []

    def random_ratio(self) -> dict:
        rr = self.data.get("random_ratio")
        if not isinstance(rr, dict):
            rr = last([x for x in self.per_stage("random_ratio") if isinstance(x, dict)])
        return rr if isinstance(rr, dict) else {}

    def column(self, stage_name: str) -> str | None:
        """Column of the task trained in a stage ("even@2" -> "even" unless "even@2" is a column)."""
        tasks = self.tasks
        if stage_name in tasks:
            return stage_name
        root = stage_name.split("@", 1)[0]
        return root if root in tasks else None

    def cell(self, stage: int, task: str | None) -> float | None:
        try:
            return num(self.accuracy[stage][self.tasks.index(task)])
        except (IndexError, ValueError, TypeError):
            return None

    def old_tasks(self, stage: int) -> list[str]:
        """Columns that are old at ``stage``: prior skills and the tasks trained before it (not the
        task trained at ``stage``, nor tasks the config plans for later stages)."""
        trained_now = {self.column(s) for s in self.stages[1:stage + 1]}
        before = {self.column(s) for s in self.stages[1:stage]}
        future = {self.column(s) for s in (self.planned or [])} - trained_now
        current = self.column(self.stages[stage]) if 0 < stage < len(self.stages) else None
        return [t for t in self.tasks
                if t != current and (t in before or (t not in trained_now and t not in future))]


def planned_tasks(config: dict, domain: str = "") -> list[str] | None:
    """The stage sequence the config asks for: ``recsys.stages`` for the recommender, else
    ``tasks[:max_stages]``; None when the config does not say."""
    rec = config.get("recsys")
    seq = rec.get("stages") if domain == "recsys" and isinstance(rec, dict) else None
    if not isinstance(seq, list):
        seq = config.get("tasks")
        if isinstance(seq, list) and isinstance(config.get("max_stages"), int) and config["max_stages"] > 0:
            seq = seq[: config["max_stages"]]
    if not isinstance(seq, list) or not seq:
        return None
    return [str(x) for x in seq]


def _train_seconds(entry: Any) -> float | None:
    if isinstance(entry, dict):
        for k in ("train", "train_s", "train_seconds", "train_sec"):
            if k in entry:
                return num(entry[k])
        return None
    return num(entry)


def summarize(run: Run) -> dict[str, float | None]:
    """The per-run values of ``SUMMARY_METRICS`` (None where missing), plus the final new- and
    old-task accuracies used by the Pareto plot."""
    d = run.data
    m = d.get("metrics") or {}
    drift, kl = last(d.get("drift")) or {}, last(d.get("kl")) or {}
    gains = [v for v in (num(g) for g in m.get("new_task_gain") or []) if v is not None]
    secs = [v for v in (_train_seconds(t) for t in d.get("timing") or []) if v is not None]
    T = run.trained
    final_new = run.cell(T, run.column(run.stages[T])) if T >= 1 else None
    olds = [v for v in (run.cell(T, t) for t in run.old_tasks(T)) if v is not None] if T >= 1 else []
    return {
        "avg_accuracy": num(m.get("avg_accuracy")),
        "bwt": num(m.get("bwt")),
        "fwt": num(m.get("fwt")),
        "forgetting": num(m.get("forgetting")),
        "final_old_task_decline": num(last(m.get("old_task_decline"))),
        "mean_new_task_gain": float(np.mean(gains)) if gains else None,
        "final_relative_l2": num(drift.get("relative_l2")) if isinstance(drift, dict) else None,
        "final_angular_deg": num(drift.get("angular_deg")) if isinstance(drift, dict) else None,
        "final_new_task_forward_kl": num(kl.get("new_task_forward_kl")) if isinstance(kl, dict) else None,
        "final_old_task_forward_kl": num(kl.get("old_task_forward_kl")) if isinstance(kl, dict) else None,
        "final_new_task_reverse_kl": num(kl.get("new_task_reverse_kl")) if isinstance(kl, dict) else None,
        "final_update_sparsity": num(drift.get("update_sparsity")) if isinstance(drift, dict) else None,
        "final_update_rank_frac": num(drift.get("update_rank_frac")) if isinstance(drift, dict) else None,
        "total_train_seconds": float(sum(secs)) if secs else None,
        "final_new_task_accuracy": final_new,
        "final_old_task_accuracy": float(np.mean(olds)) if olds else None,
    }


def find_runs(output_dir: Path) -> tuple[list[Run], list[str]]:
    """Every readable results.json under ``output_dir`` (recursively, sorted), and a note per file
    that could not be read."""
    runs, problems = [], []
    for p in sorted(Path(output_dir).rglob("results.json")):
        try:
            data = json.loads(p.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as e:
            problems.append(f"{p}: {e}")
            print(f"forgetbench.report: skipping unreadable {p}: {e}", file=sys.stderr)
            continue
        runs.append(Run(p, data))
    runs.sort(key=lambda r: (r.experiment, r.group, str(r.seed)))
    return runs, problems


def group_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs of one experiment keyed by ``table_group``, in first-seen order."""
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(r.table_group, []).append(r)
    return out


def mean_matrix(runs: list[Run]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Seed-mean accuracy matrix aligned by stage position/name and task name (cells missing in
    every run are None). Stage names come from the longest run."""
    longest = max(runs, key=lambda r: len(r.stages))
    stages = longest.stages
    tasks: list[str] = []
    for r in runs:
        tasks += [t for t in r.tasks if t not in tasks]
    mat = []
    for i in range(len(stages)):
        row = []
        for t in tasks:
            vals = [r.cell(i, t) for r in runs if i < len(r.stages)]
            vals = [v for v in vals if v is not None]
            row.append(float(np.mean(vals)) if vals else None)
        mat.append(row)
    return stages, tasks, mat


def mean_random_ratio(runs: list[Run]) -> dict[str, float]:
    """Seed-mean random-policy ratio per segment (recsys)."""
    vals: dict[str, list[float]] = {}
    for r in runs:
        for k, v in r.random_ratio().items():
            if num(v) is not None:
                vals.setdefault(str(k), []).append(num(v))
    return {k: float(np.mean(v)) for k, v in vals.items()}


def final_defects(runs: list[Run]) -> dict[str, MeanCI]:
    """Seed statistics of each numeric final-stage defect metric (recsys)."""
    vals: dict[str, list[float]] = {}
    for r in runs:
        d = last(r.per_stage("defects"))
        if isinstance(d, dict):
            for k, v in d.items():
                if num(v) is not None:
                    vals.setdefault(str(k), []).append(num(v))
    return {k: mean_ci(v) for k, v in vals.items()}
