"""The base's spectra kept across stages: the same drift numbers, one SVD per matrix after stage 1."""
from __future__ import annotations

import torch

from forgetbench.measures import drift, spectra
from forgetbench.measures.drift import drift_report


def _states():
    g = torch.Generator().manual_seed(0)
    base = {"a.weight": torch.randn(12, 8, generator=g), "b.weight": torch.randn(6, 10, generator=g),
            "n.weight": torch.ones(8)}
    stage1 = {k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in base.items()}
    stage2 = {k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in stage1.items()}
    return base, stage1, stage2


def test_spectrum_is_the_reduced_svd():
    w = torch.randn(7, 5, generator=torch.Generator().manual_seed(1))
    u, s, _ = torch.linalg.svd(w, full_matrices=False)
    sp = spectra.spectrum(w, 3)
    assert torch.equal(sp.values, s) and torch.equal(sp.top, u[:, :3]) and sp.top.shape == (7, 3)


def test_kept_base_spectra_give_identical_numbers_and_skip_the_base_svd(monkeypatch):
    base, stage1, stage2 = _states()
    plain = [drift_report(base, stage1), drift_report(base, stage2, stage1)]
    calls = []
    real = drift.spectrum
    monkeypatch.setattr(drift, "spectrum", lambda w, k: calls.append(tuple(w.shape)) or real(w, k))
    kept: dict = {}
    cached = [drift_report(base, stage1, base_spectra=kept), drift_report(base, stage2, stage1, base_spectra=kept)]
    assert cached == plain                                   # every number equal, to the bit
    assert sorted(kept) == ["a.weight", "b.weight"]           # one entry per SVD'd matrix (no 1-D norms)
    assert calls == [(12, 8), (12, 8), (6, 10), (6, 10), (12, 8), (6, 10)]   # stage 2: W only, not W0
