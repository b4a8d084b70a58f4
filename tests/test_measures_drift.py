"""Parameter drift against closed-form values."""
import math

import pytest
import torch

from forgetbench.measures.drift import angle_deg, drift_report, snapshot


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=gen(seed))


def test_scaling_by_two():
    base = {"l.weight": rand(8, 6), "l.bias": rand(6, seed=1)}
    cur = {k: 2 * v for k, v in base.items()}
    r = drift_report(base, cur)
    norm0 = math.sqrt(sum(float(v.pow(2).sum()) for v in base.values()))
    assert r["l2"] == pytest.approx(norm0, rel=1e-6)
    assert r["relative_l2"] == pytest.approx(1.0, rel=1e-6)
    assert r["weight_norm_ratio"] == pytest.approx(2.0, rel=1e-6)
    assert r["angular_deg"] == pytest.approx(0.0, abs=1e-4)
    assert r["update_rank_frac"] == 1.0                      # ΔW = W0, full rank
    assert r["spectral_shift"] == pytest.approx(1.0, rel=1e-5)
    assert r["principal_angle_deg"] == pytest.approx(0.0, abs=1e-2)
    assert r["per_layer"] == {"l": pytest.approx(1.0, rel=1e-6)}
    assert r["update_sparsity"] == 0.0
    assert r["n_params"] == 54 and r["n_matrices"] == 1 and r["svd_skipped"] == []
    assert r["relative_l2_prev"] is None


@pytest.mark.parametrize("theta", [30.0, 90.0, 0.01])
def test_rotation_of_flattened_direction(theta):
    W0 = rand(10, 8)
    U = rand(10, 8, seed=1)
    U = U - (U * W0).sum() / (W0 * W0).sum() * W0       # U ⟂ W0
    U = U * (W0.norm() / U.norm())                      # |U| = |W0|
    t = math.radians(theta)
    W1 = math.cos(t) * W0 + math.sin(t) * U
    assert angle_deg(W1, W0) == pytest.approx(theta, abs=1e-4)
    r = drift_report({"w": W0}, {"w": W1})
    assert r["angular_deg"] == pytest.approx(theta, abs=1e-4)
    assert r["weight_norm_ratio"] == pytest.approx(1.0, rel=1e-6)
    assert r["relative_l2"] == pytest.approx(2 * math.sin(t / 2), rel=1e-4)


def test_angle_helper_edges():
    a = torch.tensor([1.0, 0.0])
    assert angle_deg(a, -a) == pytest.approx(180.0)
    assert angle_deg(a, torch.tensor([1.0, 1.0])) == pytest.approx(45.0)
    with pytest.raises(ValueError):
        angle_deg(a, torch.zeros(2))


@pytest.mark.parametrize("k", [1, 2])
def test_low_rank_update(k):
    W0 = rand(12, 7)
    W1 = W0 + rand(12, k, seed=1) @ rand(k, 7, seed=2)
    r = drift_report({"w": W0}, {"w": W1})
    assert r["update_rank_frac"] == pytest.approx(k / 7)


def test_zero_update():
    W0 = rand(5, 4)
    r = drift_report({"w": W0, "b": rand(4)}, {"w": W0.clone(), "b": rand(4, seed=1)})
    assert r["update_rank_frac"] == 0.0 and r["l2"] > 0
    assert r["spectral_shift"] == 0.0 and r["angular_deg"] == pytest.approx(0.0, abs=1e-4)


def test_spectral_shift_and_principal_angle():
    s = torch.tensor([3.0, 2.0, 1.0, 0.5])
    W0 = torch.diag(s)
    phi = math.radians(20.0)
    Rot = torch.eye(4)
    Rot[:2, :2] = torch.tensor([[math.cos(phi), -math.sin(phi)], [math.sin(phi), math.cos(phi)]])
    r = drift_report({"w": W0}, {"w": Rot @ W0}, top_k=1)     # same σ, top left vector turned by φ
    assert r["spectral_shift"] == pytest.approx(0.0, abs=1e-6)
    assert r["principal_angle_deg"] == pytest.approx(20.0, abs=1e-4)
    r = drift_report({"w": W0}, {"w": Rot @ W0}, top_k=2)     # span(e1, e2) is unchanged
    assert r["principal_angle_deg"] == pytest.approx(0.0, abs=1e-3)
    s1 = torch.tensor([3.5, 2.0, 1.5, 0.5])
    r = drift_report({"w": W0}, {"w": torch.diag(s1)})
    assert r["spectral_shift"] == pytest.approx(float((s1 - s).norm() / s.norm()), rel=1e-6)


def test_sparsity_counts_touched_entries():
    base = {"m.weight": rand(10, 10), "m.bias": rand(10, seed=1)}
    cur = {k: v.clone() for k, v in base.items()}
    cur["m.weight"].view(-1)[:8] += 0.5
    cur["m.bias"][:3] -= 0.5
    cur["m.bias"][5] += 1e-7                                 # below the tolerance: unchanged
    r = drift_report(base, cur)
    assert r["update_sparsity"] == pytest.approx(1 - 11 / 110)
    assert r["n_params"] == 110


def test_per_layer_aggregates_weight_and_bias():
    base = {"a.weight": torch.ones(2, 2), "a.bias": torch.ones(2), "n.scale": torch.ones(3)}
    cur = {"a.weight": torch.ones(2, 2), "a.bias": torch.tensor([1.0, 4.0]), "n.scale": 2 * torch.ones(3)}
    r = drift_report(base, cur)
    assert r["per_layer"]["a"] == pytest.approx(3 / math.sqrt(6))
    assert r["per_layer"]["n.scale"] == pytest.approx(1.0)
    assert r["n_matrices"] == 1


def test_svd_skipped_honoured():
    base = {"big": rand(20, 10), "small": rand(4, 3, seed=1), "vec": rand(5, seed=2)}
    cur = {"big": base["big"] + rand(20, 1, seed=3) @ rand(1, 10, seed=4),
           "small": 2 * base["small"], "vec": base["vec"]}
    r = drift_report(base, cur, svd_max_numel=100)
    assert r["svd_skipped"] == ["big"] and r["n_svd_matrices"] == 1 and r["n_matrices"] == 2
    assert r["update_rank_frac"] == 1.0                     # only "small" (full-rank ΔW); big is 1/10
    assert r["spectral_shift"] == pytest.approx(1.0, rel=1e-5)
    r = drift_report(base, cur, svd_max_numel=10)
    assert r["svd_skipped"] == ["big", "small"]
    assert r["update_rank_frac"] is None and r["spectral_shift"] is None
    assert r["principal_angle_deg"] is None and r["angular_deg"] is not None


def test_previous_gives_stage_drift():
    W0 = rand(6, 5)
    A, B = rand(6, 5, seed=1), rand(6, 5, seed=2)
    prev, cur = W0 + A, W0 + A + B
    r = drift_report({"w": W0}, {"w": cur}, {"w": prev})
    assert r["relative_l2_prev"] == pytest.approx(float((cur - prev).norm() / prev.norm()), rel=1e-6)
    assert r["relative_l2"] == pytest.approx(float((A + B).norm() / W0.norm()), rel=1e-6)


def test_mixed_dtype_common_keys_only_and_shape_error():
    base = {"w": rand(4, 4), "only_base": rand(3)}
    cur = {"w": (1.5 * base["w"]).to(torch.bfloat16), "only_cur": rand(3)}
    r = drift_report(base, cur)
    assert r["n_params"] == 16
    assert r["relative_l2"] == pytest.approx(0.5, rel=1e-2)
    with pytest.raises(ValueError, match="shape"):
        drift_report({"w": rand(4, 4)}, {"w": rand(4, 3)})
    with pytest.raises(ValueError, match="share no"):
        drift_report({"a": rand(2)}, {"b": rand(2)})


def test_snapshot_is_a_detached_fp32_cpu_copy():
    lin = torch.nn.Linear(3, 2).to(torch.bfloat16)
    snap = snapshot(dict(lin.named_parameters()))
    assert all(v.dtype == torch.float32 and not v.requires_grad for v in snap.values())
    before = snap["weight"].clone()
    with torch.no_grad():
        lin.weight.add_(1.0)
    assert torch.equal(snap["weight"], before)
    r = drift_report(snap, dict(lin.named_parameters()))
    assert r["per_layer"]["weight"] > 0 and r["per_layer"]["bias"] == 0.0
