"""Time and memory of ``snapshot`` + ``drift_report`` on a randomly initialised Llama-style model,
against the obvious non-streaming implementation.

    python benchmarks/drift_cost.py            # ~110M parameters (hidden 768, 12 layers, vocab 32000)
    python benchmarks/drift_cost.py --quick    # ~8M parameters, < 1 min

The base is snapshotted once (the one extra copy of the weights); the live weights are then
perturbed in place (a low-rank update on half of the matrices, dense noise elsewhere, 1-D norms left
alone). Each round then times, back to back:

- streaming (the library): ``drift_report(base, live)``, fp32 one tensor at a time;
- naive (the baseline): the same measures from whole-model flat fp32 vectors θ0, θ and Δ = θ - θ0
  (``torch.cat`` of every parameter; matrices are views into them; the SVD measures call the same
  per-matrix code), i.e. what one writes without streaming.

Reports the median over ``--repeats`` rounds of the seconds and the peak RSS increase of each, and
the ratios naive / streaming, and checks that both give the same numbers. Peak RSS is sampled with
psutil (every 2 ms) and, where the kernel lets us reset it, read exactly from /proc/self/status
VmHWM.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when torch loads libgomp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import psutil
except ImportError:  # pragma: no cover
    psutil = None

# torch and the library: imported by _import_torch() once the options are parsed
torch = _matrix_measures = _module_name = angle_deg = drift_report = snapshot = None
MB = 2 ** 20
SIZES = {  # name: (hidden, intermediate, layers, heads, vocab)
    "quick": (256, 1024, 4, 4, 16000),
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


def perturb_in_place(params: dict) -> None:
    """Rank-2 update on every other matrix, small dense noise on the rest; 1-D tensors untouched."""
    for i, (name, p) in enumerate(params.items()):
        if p.ndim != 2:
            continue
        if i % 2 == 0:
            m, n = p.shape
            p.add_(torch.randn(m, 2) @ torch.randn(2, n) * (0.01 / (m * n) ** 0.25))
        else:
            p.add_(torch.randn_like(p), alpha=1e-3)


def _fixed_mmap_threshold() -> None:
    """Make glibc serve every allocation over 64 KiB with mmap and give it back on free. Otherwise its
    dynamic threshold keeps a freed block in the heap, and the next round reuses it without RSS
    growing (each round would report less than the first)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 16)   # M_MMAP_THRESHOLD; disables the dynamic one
    except (OSError, AttributeError):                  # not glibc: numbers after round 1 may read low
        pass


def _import_torch() -> None:
    """torch and the library, imported after the options are parsed (``--help`` stays instant)."""
    global torch, _matrix_measures, _module_name, angle_deg, drift_report, snapshot
    import torch

    from forgetbench.measures.drift import _matrix_measures, _module_name, angle_deg, drift_report, snapshot


def naive_drift(base, current, *, svd_max_numel: int = 1_000_000, top_k: int = 4, sparsity_tol: float = 1e-5) -> dict:
    """The baseline: the same measures from whole-model flat fp32 vectors (no streaming)."""
    keys = [k for k in current.keys() if k in base]
    b = torch.cat([base[k].detach().float().reshape(-1) for k in keys])
    c = torch.cat([current[k].detach().float().reshape(-1) for k in keys])
    d = c - b
    bn, cn, dn = float(b.norm()), float(c.norm()), float(d.norm())
    sparsity = float((d.abs() <= sparsity_tol).float().mean())
    angles, ranks, shifts, layer, off = [], [], [], {}, 0
    for k in keys:
        shape, n = current[k].shape, current[k].numel()
        w, w0, dw = c[off:off + n].view(shape), b[off:off + n].view(shape), d[off:off + n].view(shape)
        acc = layer.setdefault(_module_name(k), [0.0, 0.0])
        acc[0] += float(dw.norm()) ** 2
        acc[1] += float(w0.norm()) ** 2
        if len(shape) == 2:
            angles.append(angle_deg(w, w0))
            if n <= svd_max_numel:
                mm = _matrix_measures(w, w0, dw, top_k)
                ranks.append(mm["rank_frac"])
                shifts.append(mm["spectral_shift"])
        off += n
    return {"relative_l2": dn / bn, "weight_norm_ratio": cn / bn, "update_sparsity": sparsity,
            "angular_deg": sum(angles) / len(angles), "update_rank_frac": sum(ranks) / len(ranks),
            "spectral_shift": sum(shifts) / len(shifts),
            "per_layer": {m: math.sqrt(a / b_) for m, (a, b_) in layer.items() if b_ > 0}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="~8M-parameter model instead of ~110M (< 1 min)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (median; >= 3)")
    ap.add_argument("--svd-max-numel", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default: torch's); on a shared, oversubscribed CPU "
                         "multi-threaded LAPACK SVDs can be 10x slower than one thread")
    args = ap.parse_args(argv)
    _fixed_mmap_threshold()
    _import_torch()
    torch.set_grad_enabled(False)
    size = "quick" if args.quick else "full"
    repeats = max(3, args.repeats)
    if args.threads:
        torch.set_num_threads(args.threads)

    t = time.perf_counter()
    model = build_model(size)
    params = dict(model.named_parameters())        # tied embeddings counted once
    n_params = sum(p.numel() for p in params.values())
    model_bytes = sum(p.numel() * p.element_size() for p in params.values())
    print(f"built {size} model: {n_params / 1e6:.1f}M params in {time.perf_counter() - t:.1f}s "
          f"(threads={torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')})",
          flush=True)

    snaps = []
    for _ in range(repeats):
        with PeakRSS() as mem_snap:
            t = time.perf_counter()
            base = snapshot(params)
            t_snap = time.perf_counter() - t
        snaps.append((t_snap, mem_snap.increase))
        if len(snaps) < repeats:
            del base
    perturb_in_place(params)
    stream, naive = [], []
    for r in range(repeats):
        with PeakRSS() as mem:
            t = time.perf_counter()
            rep = drift_report(base, params, svd_max_numel=args.svd_max_numel)
            dt = time.perf_counter() - t
        stream.append((dt, mem.increase))
        with PeakRSS() as mem:
            t = time.perf_counter()
            nv = naive_drift(base, params, svd_max_numel=args.svd_max_numel)
            dt = time.perf_counter() - t
        naive.append((dt, mem.increase))
        print(f"[round {r + 1}/{repeats}] streaming {stream[-1][0]:.2f}s {stream[-1][1] / MB:.0f} MiB, "
              f"naive {naive[-1][0]:.2f}s {naive[-1][1] / MB:.0f} MiB", flush=True)

    def med(xs, i):
        return statistics.median(x[i] for x in xs)

    agree = max(abs(rep[k] - nv[k]) / max(abs(nv[k]), 1e-12) for k in
                ("relative_l2", "weight_norm_ratio", "update_sparsity", "angular_deg", "update_rank_frac",
                 "spectral_shift"))
    agree = max(agree, max(abs(rep["per_layer"][m] - v) / max(v, 1e-12) for m, v in nv["per_layer"].items()))
    ts, tn, ms, mn = med(stream, 0), med(naive, 0), med(stream, 1), med(naive, 1)
    res = {"params": n_params, "stream_s": ts, "naive_s": tn, "stream_mib": ms / MB, "naive_mib": mn / MB,
           "time_ratio": tn / ts, "memory_ratio": mn / max(ms, 1), "max_rel_diff": agree}
    hidden, _, layers, _, vocab = SIZES[size]
    print(f"drift cost: {size} model (Llama hidden {hidden}, {layers} layers, vocab {vocab}), "
          f"{n_params:,} params = {model_bytes / MB:.0f} MiB fp32, largest tensor "
          f"{max(p.numel() for p in params.values()) * 4 / MB:.0f} MiB; {rep['n_matrices']} matrices, "
          f"{rep['n_svd_matrices']} SVD'd (svd_max_numel={args.svd_max_numel:,}); median of {repeats}; "
          f"memory by {mem.method}")
    print("| | streaming drift_report | naive (flat vectors) | naive / streaming |")
    print("|---|---|---|---|")
    print(f"| seconds | {ts:.2f} | {tn:.2f} | {tn / ts:.2f}x |")
    print(f"| peak RSS increase | {ms / MB:.0f} MiB ({ms / model_bytes:.2f} x model) | {mn / MB:.0f} MiB "
          f"({mn / model_bytes:.2f} x model) | {mn / max(ms, 1):.1f}x |")
    print(f"| snapshot (the one copy of the base) | {med(snaps, 0):.2f} s, {med(snaps, 1) / MB:.0f} MiB "
          f"({med(snaps, 1) / model_bytes:.2f} x model) | | |")
    print(f"  same numbers: largest relative difference {agree:.1e}; relative_l2 {rep['relative_l2']:.3e}, "
          f"angular_deg {rep['angular_deg']:.3f}, update_sparsity {rep['update_sparsity']:.3f}, "
          f"update_rank_frac {rep['update_rank_frac']:.3f}")
    return res


if __name__ == "__main__":
    main()
