"""Time and memory of ``snapshot`` + ``drift_report`` on a randomly initialised Llama-style model.

    python benchmarks/drift_cost.py            # ~110M parameters (hidden 768, 12 layers, vocab 32000)
    python benchmarks/drift_cost.py --quick    # ~10M parameters, a few seconds

The base is snapshotted once (the one extra copy of the weights); the live weights are then
perturbed in place (a low-rank update on half of the matrices, dense noise elsewhere, 1-D norms left
alone) and ``drift_report(base, live)`` streams over them. Peak RSS is sampled with psutil (every
2 ms) and, where the kernel lets us reset it, read exactly from /proc/self/status VmHWM.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from forgetbench.measures.drift import drift_report, snapshot  # noqa: E402

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

MB = 2 ** 20
SIZES = {  # name: (hidden, intermediate, layers, heads, vocab)
    "quick": (256, 1024, 6, 4, 16000),
    "full": (768, 2048, 12, 12, 32000),
}


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss() -> int:
    if psutil is not None:
        return psutil.Process().memory_info().rss
    return (_status_kb("VmRSS") or 0) * 1024


class PeakRSS:
    """Peak resident-set increase over a block, in bytes (max of sampled RSS and reset VmHWM)."""

    def __enter__(self):
        try:                                   # "5" resets VmHWM to the current RSS (Linux >= 4.0)
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.hwm_ok = True
        except OSError:
            self.hwm_ok = False
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        hwm = _status_kb("VmHWM") if self.hwm_ok else None
        if hwm is not None:
            self.peak = max(self.peak, hwm * 1024)
        self.increase = self.peak - self.start
        self.method = ("psutil+VmHWM" if psutil is not None else "VmHWM") if self.hwm_ok else \
            ("psutil" if psutil is not None else "VmRSS")


def build_model(size: str):
    from transformers import LlamaConfig, LlamaForCausalLM
    hidden, inter, layers, heads, vocab = SIZES[size]
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=inter,
                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                      max_position_embeddings=512, tie_word_embeddings=True)
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).eval()


@torch.no_grad()
def perturb_in_place(params: dict[str, torch.Tensor]) -> None:
    """Rank-2 update on every other matrix, small dense noise on the rest; 1-D tensors untouched."""
    for i, (name, p) in enumerate(params.items()):
        if p.ndim != 2:
            continue
        if i % 2 == 0:
            m, n = p.shape
            p.add_(torch.randn(m, 2) @ torch.randn(2, n) * (0.01 / (m * n) ** 0.25))
        else:
            p.add_(torch.randn_like(p), alpha=1e-3)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="~10M-parameter model instead of ~110M")
    ap.add_argument("--svd-max-numel", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's); on a shared, oversubscribed CPU "
                         "multi-threaded LAPACK SVDs can be 10x slower than one thread")
    args = ap.parse_args(argv)
    size = "quick" if args.quick else "full"
    if args.threads:
        torch.set_num_threads(args.threads)

    t = time.perf_counter()
    model = build_model(size)
    params = dict(model.named_parameters())        # tied embeddings counted once
    n_params = sum(p.numel() for p in params.values())
    model_bytes = sum(p.numel() * p.element_size() for p in params.values())
    print(f"built {size} model: {n_params / 1e6:.1f}M params in {time.perf_counter() - t:.1f}s "
          f"(threads={torch.get_num_threads()})", flush=True)

    with PeakRSS() as mem_snap:
        t = time.perf_counter()
        base = snapshot(params)
        t_snap = time.perf_counter() - t
    perturb_in_place(params)
    with PeakRSS() as mem_drift:
        t = time.perf_counter()
        rep = drift_report(base, params, svd_max_numel=args.svd_max_numel)
        t_drift = time.perf_counter() - t

    rows = [
        ("model", f"{size}: Llama hidden {SIZES[size][0]}, {SIZES[size][2]} layers, vocab {SIZES[size][4]}"),
        ("params", f"{n_params:,} ({model_bytes / MB:.0f} MiB fp32)"),
        ("snapshot seconds", f"{t_snap:.2f}"),
        ("snapshot peak RSS increase", f"{mem_snap.increase / MB:.0f} MiB = "
                                       f"{mem_snap.increase / model_bytes:.2f} x model"),
        ("drift_report seconds", f"{t_drift:.2f}"),
        ("drift_report peak RSS increase", f"{mem_drift.increase / MB:.0f} MiB = "
                                           f"{mem_drift.increase / model_bytes:.2f} x model"),
        ("largest tensor", f"{max(p.numel() for p in params.values()) * 4 / MB:.0f} MiB fp32"),
        ("2-D matrices / SVD'd / SVD skipped", f"{rep['n_matrices']} / {rep['n_svd_matrices']} / "
                                               f"{len(rep['svd_skipped'])} (svd_max_numel="
                                               f"{args.svd_max_numel:,})"),
        ("memory method", mem_drift.method),
        ("relative_l2 / angular_deg", f"{rep['relative_l2']:.2e} / {rep['angular_deg']:.3f}"),
        ("update_sparsity / update_rank_frac", f"{rep['update_sparsity']:.3f} / {rep['update_rank_frac']:.3f}"),
    ]
    w = max(len(k) for k, _ in rows)
    print("-" * (w + 50))
    for k, v in rows:
        print(f"{k:<{w}}  {v}")


if __name__ == "__main__":
    main()
