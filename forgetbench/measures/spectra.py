"""Singular spectra of weight matrices, as the drift's matrix measures use them.

A matrix measure needs all singular values of W and W0 and the top-k left singular vectors of both.
The base W0 never changes along a run, so its ``Spectrum`` is computed once and kept by the caller
(``drift_report(..., base_spectra=…)``): every stage after the first does one SVD per matrix, not
two, with bit-identical numbers (the same ``torch.linalg.svd`` call on the same tensor).

Measured (timing ``torch.linalg.svd``, ``svdvals`` and a float64 Gram-matrix
``eigh`` on SmolLM2-135M's matrix shapes, one thread): ``svdvals`` is only 1.4–2× faster than the
full SVD there and the Gram-matrix top-k vectors cost as much as ``svdvals``, so neither replaces
the exact SVD; keeping the base's spectrum is the exact saving.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Spectrum:
    """All singular values (descending) and the top-k left singular vectors (m×k) of one matrix."""
    values: torch.Tensor
    top: torch.Tensor


def spectrum(w: torch.Tensor, k: int) -> Spectrum:
    """Singular values of ``w`` and its top-``k`` left singular vectors (one reduced SVD)."""
    u, s, _ = torch.linalg.svd(w, full_matrices=False)
    return Spectrum(s, u[:, :k].clone())
