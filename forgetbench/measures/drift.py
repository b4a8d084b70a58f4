"""Parameter drift between a base state θ0 and a current state θ (and optionally the previous stage).

Inputs are ``Mapping[str, Tensor]`` (a state dict, ``dict(model.named_parameters())``, or a lazy
mapping that loads on ``__getitem__``), on any device and in any dtype. Tensors are cast to fp32 on
the CPU **one at a time** (streaming): the only extra memory is a few copies of the largest single
tensor, never a whole extra copy of the weights. Only keys present in both ``base`` and ``current``
count. Tied weights listed twice in a state dict count twice: pass ``named_parameters()`` to avoid it.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch

from forgetbench.measures.spectra import Spectrum, spectrum

__all__ = ["snapshot", "drift_report", "angle_deg", "metric_definitions"]

_EPS32 = torch.finfo(torch.float32).eps

_DEFINITIONS = {
    "l2": "||θ-θ0||_2 over all parameters.",
    "relative_l2": "||θ-θ0|| / ||θ0||.",
    "relative_l2_prev": "||θ-θprev|| / ||θprev|| (drift of this stage alone).",
    "angular_deg": "Mean over 2-D weight matrices of arccos(cos(W, W0)) in degrees (flattened).",
    "weight_norm_ratio": "||θ|| / ||θ0||.",
    "update_sparsity": "Fraction of entries with |θ-θ0| <= 1e-5 (in fp32).",
    "update_rank_frac": "Mean over 2-D matrices of rank(W-W0)/min(m, n).",
    "spectral_shift": "Mean over 2-D matrices of ||σ(W)-σ(W0)|| / ||σ(W0)||.",
    "principal_angle_deg": "Mean over 2-D matrices of the largest principal angle between the "
                           "top-k left singular subspaces of W and W0.",
    "per_layer": "Per module: ||ΔW||/||W0|| over that module's parameters.",
}


def metric_definitions() -> dict[str, str]:
    """One-line definition of every drift measure."""
    return dict(_DEFINITIONS)


def _f32(t: torch.Tensor) -> torch.Tensor:
    """fp32 CPU view of ``t`` (no copy when it already is one: never modify the result in place)."""
    return t.detach().to(device="cpu", dtype=torch.float32)


def snapshot(params: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached fp32 CPU clones of ``params`` (keep the base weights once, then compare against them)."""
    return {k: v.detach().to(device="cpu", dtype=torch.float32, copy=True) for k, v in params.items()}


def angle_deg(a: torch.Tensor, b: torch.Tensor, *, chunk: int = 1 << 20) -> float:
    """Angle between flattened ``a`` and ``b`` in degrees: arccos(<a,b>/(|a||b|)).

    Computed as 2·atan2(|â-b̂|, |â+b̂|) with â = a/|a| (Kahan), which stays accurate near 0° and 180°
    where arccos loses half the digits; streamed in chunks of ``chunk`` entries so no full-size
    temporaries are made. Raises ``ValueError`` if either vector is zero.
    """
    a, b = _f32(a).reshape(-1), _f32(b).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"angle_deg: sizes differ ({a.numel()} vs {b.numel()})")
    na, nb = float(torch.linalg.vector_norm(a)), float(torch.linalg.vector_norm(b))
    if na == 0 or nb == 0:
        raise ValueError("angle_deg: angle with a zero vector is undefined")
    minus = plus = 0.0
    for i in range(0, a.numel(), chunk):
        x, y = a[i:i + chunk] / na, b[i:i + chunk] / nb
        minus += float(torch.linalg.vector_norm(x - y)) ** 2
        plus += float(torch.linalg.vector_norm(x.add_(y))) ** 2
    return math.degrees(2.0 * math.atan2(math.sqrt(minus), math.sqrt(plus)))


def _module_name(param_name: str) -> str:
    head, _, last = param_name.rpartition(".")
    return head if head and last in ("weight", "bias") else param_name


def _largest_principal_angle_deg(U: torch.Tensor, U0: torch.Tensor) -> float:
    """Largest principal angle between span(U) and span(U0) (orthonormal columns), in degrees.

    cos θ_max = σ_min(U0ᵀU), sin θ_max = σ_max(U - U0 U0ᵀU); atan2 of the pair is accurate everywhere.
    """
    M = U0.T @ U
    c = float(torch.linalg.svdvals(M).min())
    s = float(torch.linalg.svdvals(U - U0 @ M).max())
    return math.degrees(math.atan2(s, c))


def _matrix_measures(w: torch.Tensor, w0: torch.Tensor, d: torch.Tensor, top_k: int,
                     base: Spectrum | None = None) -> dict:
    """rank(ΔW)/min(m,n), spectral shift and largest top-k principal angle of one matrix (``base``:
    W0's spectrum when the caller kept it from an earlier stage; ``out["base"]`` is the one used)."""
    m, n = w.shape
    r = min(m, n)
    k = min(top_k, r)
    if float(torch.linalg.vector_norm(d)) == 0.0:
        rank = 0
    else:
        # σ_i(ΔW) > max(max(m,n)·eps·σ_1(ΔW), 2·eps·max(|W|,|W0|)): the usual relative cut, plus the
        # floor below which ΔW = W - W0 is only fp32 rounding of the weights themselves.
        floor = 2 * _EPS32 * max(float(torch.linalg.vector_norm(w)), float(torch.linalg.vector_norm(w0)))
        rank = int(torch.linalg.matrix_rank(d, atol=floor, rtol=max(m, n) * _EPS32))
    out = {"rank_frac": rank / r}
    now, base = spectrum(w, k), base or spectrum(w0, k)
    s0 = float(torch.linalg.vector_norm(base.values))
    out["spectral_shift"] = float(torch.linalg.vector_norm(now.values - base.values)) / s0 if s0 > 0 else None
    out["principal_angle_deg"] = _largest_principal_angle_deg(now.top, base.top) if k > 0 else None
    out["base"] = base
    return out


def svd_selection(names: list[str], limit: int | None) -> set[str]:
    """The ``limit`` matrices (of ``names``, in model order) the SVD measures use: all when ``limit`` is
    None or ≥ len(names), else the evenly spaced picks ``names[floor((i + ½)·N/limit)]``, i < limit —
    a deterministic sample that cycles through the matrix kinds of every block and through depth."""
    n = len(names)
    if limit is None or limit >= n:
        return set(names)
    if limit < 1:
        raise ValueError(f"drift_report: svd_matrices must be >= 1 or None, got {limit}")
    return {names[int((i + 0.5) * n / limit)] for i in range(limit)}


def _ratio(num_sq: float, den_sq: float) -> float | None:
    """sqrt(num_sq/den_sq); 0 when both are 0, None when only the denominator is."""
    if den_sq > 0:
        return math.sqrt(num_sq / den_sq)
    return 0.0 if num_sq == 0 else None


def _mean(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


@torch.no_grad()
def drift_report(base: Mapping[str, torch.Tensor], current: Mapping[str, torch.Tensor],
                 previous: Mapping[str, torch.Tensor] | None = None, *, svd_max_numel: int = 1_000_000,
                 top_k: int = 4, sparsity_tol: float = 1e-5, base_spectra: dict | None = None,
                 svd_matrices: int | None = None) -> dict:
    """Drift of ``current`` (θ) from ``base`` (θ0), and from ``previous`` (θprev) when given.

    Returns (Δ = θ - θ0, all sums over the keys in both mappings, fp32 CPU, streamed):

    - ``l2`` = ||Δ||₂; ``relative_l2`` = ||Δ||/||θ0||; ``weight_norm_ratio`` = ||θ||/||θ0||
    - ``relative_l2_prev`` = ||θ-θprev||/||θprev|| (keys also in ``previous``; ``None`` without it)
    - ``update_sparsity`` = #{|Δ| <= sparsity_tol} / n_params
    - ``angular_deg`` = mean over 2-D matrices of arccos(cos(W, W0)) in degrees (flattened)
    - ``update_rank_frac`` = mean over 2-D matrices of rank(ΔW)/min(m,n) (relative tolerance
      max(m,n)·eps·σ₁(ΔW), floored at the fp32 rounding level 2·eps·max(|W|,|W0|); zero ΔW -> 0)
    - ``spectral_shift`` = mean over 2-D matrices of ||σ(W)-σ(W0)||/||σ(W0)||
    - ``principal_angle_deg`` = mean over 2-D matrices of the largest principal angle between the
      top-``top_k`` left singular subspaces of W and W0 (ill-defined if σ_k(W0) = σ_{k+1}(W0))
    - ``per_layer`` = {module: ||ΔW||/||W0|| over the module's params} (module = name minus a final
      ``.weight``/``.bias``)
    - ``n_params``, ``n_matrices``, ``n_svd_matrices`` and ``svd_skipped``: the matrices with
      numel > ``svd_max_numel`` are left out of the three SVD measures (rank, spectral, principal
      angle), which are means over the other matrices only, and ``None`` if every matrix is skipped.
    - ``svd_matrices`` (None = all): of the matrices left, only this many evenly spaced ones
      (:func:`svd_selection`) enter the three SVD measures — a sampled mean, for large models where
      the SVDs dominate the cost (a SmolLM2-135M stage: 210 matrices, ~40 s on one thread);
      ``n_svd_matrices`` says how many were used.

    1-D tensors (norms, biases) count toward the norms, sparsity and ``per_layer``, not toward the
    matrix measures. A matrix whose W or W0 is zero is left out of ``angular_deg``.

    ``base_spectra``: a dict the caller keeps across calls with the same ``base``; W0's spectra
    (``measures.spectra``) are stored in it once and reused, so later stages skip half the work.
    """
    keys = [k for k in current.keys() if k in base]
    if not keys:
        raise ValueError("drift_report: base and current share no parameter names")
    d_sq = b_sq = c_sq = 0.0
    p_d_sq = p_sq = 0.0
    n_params = n_small = 0
    angles, ranks, shifts, pangles, skipped = [], [], [], [], []
    n_matrices = 0
    svd_names = svd_selection([k for k in keys if current[k].ndim == 2 and current[k].numel() <= svd_max_numel],
                              svd_matrices)
    layer: dict[str, list[float]] = {}
    for name in keys:
        w0, w = _f32(base[name]), _f32(current[name])
        if w0.shape != w.shape:
            raise ValueError(f"drift_report: {name!r} has shape {tuple(w.shape)} but base has "
                             f"{tuple(w0.shape)}")
        d = w - w0                                   # the one full-size fp32 temporary
        dn, bn, cn = (float(torch.linalg.vector_norm(t)) for t in (d, w0, w))
        d_sq, b_sq, c_sq = d_sq + dn * dn, b_sq + bn * bn, c_sq + cn * cn
        acc = layer.setdefault(_module_name(name), [0.0, 0.0])
        acc[0] += dn * dn
        acc[1] += bn * bn
        if w.ndim == 2:
            n_matrices += 1
            if w.numel() > svd_max_numel:
                skipped.append(name)
            elif name in svd_names:
                mm = _matrix_measures(w, w0, d, top_k, None if base_spectra is None else base_spectra.get(name))
                if base_spectra is not None:
                    base_spectra[name] = mm["base"]
                ranks.append(mm["rank_frac"])
                shifts.append(mm["spectral_shift"])
                pangles.append(mm["principal_angle_deg"])
        n_params += d.numel()
        n_small += int(torch.count_nonzero(d.abs_() <= sparsity_tol))
        del d
        if w.ndim == 2 and bn > 0 and cn > 0:
            angles.append(angle_deg(w, w0))
        if previous is not None and name in previous:
            wp = _f32(previous[name])
            if wp.shape != w.shape:
                raise ValueError(f"drift_report: {name!r} has shape {tuple(w.shape)} but previous "
                                 f"has {tuple(wp.shape)}")
            pn = float(torch.linalg.vector_norm(wp))
            p_sq += pn * pn
            p_d_sq += float(torch.linalg.vector_norm(w - wp)) ** 2
            del wp
        del w, w0
    return {
        "l2": math.sqrt(d_sq),
        "relative_l2": _ratio(d_sq, b_sq),
        "relative_l2_prev": _ratio(p_d_sq, p_sq) if previous is not None else None,
        "angular_deg": _mean(angles),
        "weight_norm_ratio": _ratio(c_sq, b_sq),
        "update_sparsity": n_small / n_params if n_params else None,
        "update_rank_frac": _mean(ranks),
        "spectral_shift": _mean(shifts),
        "principal_angle_deg": _mean(pangles),
        "per_layer": {m: _ratio(a, b) for m, (a, b) in layer.items()},
        "n_params": n_params,
        "n_matrices": n_matrices,
        "n_svd_matrices": len(ranks),
        "svd_skipped": skipped,
    }
