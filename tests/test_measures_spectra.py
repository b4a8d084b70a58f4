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


def test_svd_selection_takes_evenly_spaced_matrices_or_all():
    names = [f"m{i}" for i in range(10)]
    assert drift.svd_selection(names, None) == set(names)
    assert drift.svd_selection(names, 12) == set(names)
    # floor((i + 0.5) * 10 / 4) for i = 0..3 -> 1, 3, 6, 8
    assert drift.svd_selection(names, 4) == {"m1", "m3", "m6", "m8"}
    assert drift.svd_selection(names, 1) == {"m5"}


def test_sampled_svd_measures_are_the_mean_over_the_chosen_matrices():
    g = torch.Generator().manual_seed(3)
    base = {f"l{i}.weight": torch.randn(9, 7, generator=g) for i in range(5)}
    cur = {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in base.items()}
    full = drift_report(base, cur)
    one = drift_report({"l2.weight": base["l2.weight"]}, {"l2.weight": cur["l2.weight"]})
    sampled = drift_report(base, cur, svd_matrices=1)          # picks l2 (floor(0.5 * 5 / 1) = 2)
    assert sampled["n_svd_matrices"] == 1 and full["n_svd_matrices"] == 5
    for key in ("update_rank_frac", "spectral_shift", "principal_angle_deg"):
        assert sampled[key] == one[key]
    for key in ("l2", "relative_l2", "angular_deg", "update_sparsity"):   # the cheap measures see all
        assert sampled[key] == full[key]
    assert drift_report(base, cur, svd_matrices=5) == full
