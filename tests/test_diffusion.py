"""Dual-Diffusion pieces on synthetic scenes: schedule, oracle sampling, forward-process geometry,
2D error models (fit, I/O, person size), augmentation and virtual rigs. CPU only, quick."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import camera_frame_poses, oracle, per_view_noise, random_poses, rectified_P, stereo_views

from binopose.data.noise import ErrorModel2D, fit_error_model, pose_scale_px, sample_errors
from binopose.data.rigs import RigConfig, sample_scene
from binopose.data.synth import AugmentConfig, augment
from binopose.diffusion.forward import dual_forward
from binopose.diffusion.sampling import ddim_sample, refine_2d
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.stereo import camera_baseline
from binopose.skeleton import BONES, NUM_JOINTS, ROOT, flip_permutation, root_from_hips

# ---------------------------------------------------------------- schedule


def test_schedule_levels():
    s = Schedule(steps=50, sigma_max=2.0)
    sig = s.sigmas
    assert sig.dtype == np.float64 and sig.shape == (51,)
    assert sig[0] == 0.0 and sig[-1] == pytest.approx(2.0)
    assert (np.diff(sig) > 0).all()
    assert s.sigma_of(torch.tensor([0, 50])).dtype == torch.float64


def test_schedule_rejects_bad_values():
    with pytest.raises(ValueError, match="steps"):
        Schedule(steps=0)
    with pytest.raises(ValueError, match="sigma_max"):
        Schedule(sigma_max=0.0)


def test_step_for_sigma_inverts_the_grid():
    s = Schedule(steps=100, sigma_max=2.5)
    for t in range(1, 101):
        assert s.step_for_sigma(float(s.sigmas[t])) == t
    assert s.step_for_sigma(0.0) == 1  # clipped: step 0 is the clean data
    assert s.step_for_sigma(99.0) == 100


@pytest.mark.parametrize("n", [1, 2, 7, 256])
def test_antithetic_steps(n):
    s = Schedule(steps=100)
    t = s.sample_steps(n, torch.Generator().manual_seed(n))
    assert t.shape == (n,) and t.min() >= 1 and t.max() <= 100
    half = (n + 1) // 2
    pairs = t[: n - half] + t[half:]
    assert (pairs == s.steps + 1).all()


@pytest.mark.parametrize("k", [1, 2, 3, 5, 10])
def test_sampling_sigmas(k):
    s = Schedule(steps=100, sigma_max=2.5)
    sig = s.sampling_sigmas(1.0, k)
    assert len(sig) == k + 1
    assert sig[-1] == 0.0 and sig[0] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(sig, sig[1:]))


def test_sampling_sigmas_k1_is_one_call_at_the_input_level():
    assert Schedule(steps=100, sigma_max=2.5).sampling_sigmas(0.5, 1) == [0.5, 0.0]


# ---------------------------------------------------------------- oracle sampling


def _noisy_input(n: int = 6, seed: int = 0):
    X, P, u0 = stereo_views(n, seed)
    gen = torch.Generator().manual_seed(seed)
    scale = pose_scale_px(u0)
    u = u0 + sample_errors(per_view_noise(0.02), scale, torch.ones(n), gen).double()
    return X, P, u, scale, camera_baseline(P)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_oracle_ddim_returns_the_clean_pose(k):
    X, P, u, scale, baseline = _noisy_input()
    sigmas = Schedule().sampling_sigmas(1.0, k)
    x0, log_std = ddim_sample(oracle(X), u, P, baseline, scale, sigmas)
    assert torch.allclose(x0, X, atol=1e-6)
    assert log_std.shape == X.shape[:2]


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("h", [1, 4])
@pytest.mark.parametrize("aggregate", ["mean", "reprojection"])
def test_oracle_refine_2d_returns_the_clean_pose(k, h, aggregate):
    X, P, u, scale, baseline = _noisy_input()
    sigmas = Schedule().sampling_sigmas(1.0, k)
    res = refine_2d(oracle(X), u, P, baseline, scale, sigmas, h, aggregate, per_view_noise(0.02))
    assert torch.allclose(res.poses, X, atol=1e-6)
    assert res.poses.shape == X.shape and res.uncertainty.shape == X.shape[:2]
    assert torch.isfinite(res.uncertainty).all() and (res.uncertainty > 0).all()
    # the triangulated input is really noisy, so the oracle did the work
    assert (res.triangulated - X).norm(dim=-1).mean() > 5.0


def test_refine_2d_checks_its_options():
    X, P, u, scale, baseline = _noisy_input()
    sigmas = Schedule().sampling_sigmas(1.0, 1)
    with pytest.raises(ValueError, match="error model"):
        refine_2d(oracle(X), u, P, baseline, scale, sigmas, hypotheses=3)
    with pytest.raises(ValueError, match="aggregation"):
        refine_2d(oracle(X), u, P, baseline, scale, sigmas, 3, "median", per_view_noise())


# ---------------------------------------------------------------- forward process geometry


def _depth_error(
    depth: float, baseline: float, n: int = 4000, px: float = 2.0, scale_px: float | None = 100.0
):
    """RMS depth and lateral error (mm) of triangulated per-view pixel noise on a rectified pair."""
    X = camera_frame_poses(1, depth).expand(n, NUM_JOINTS, 3)
    P = rectified_P(n, baseline, f=1000.0)
    u0 = project(X, P)
    scale = torch.full((n, 2), scale_px) if scale_px is not None else pose_scale_px(u0)
    model = per_view_noise(px / 100.0)  # px pixels when the person is 100 px tall
    gen = torch.Generator().manual_seed(int(depth + baseline))
    _, Xn, _ = dual_forward(u0, P, scale, torch.ones(n, dtype=torch.float64), [model], [1.0], gen)
    err = Xn - X
    return float(err[..., 2].pow(2).mean().sqrt()), float(err[..., 0].pow(2).mean().sqrt())


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def test_forward_depth_noise_follows_stereo_geometry():
    """Constant pixel noise: depth error ~ Z^2 / (f B) * sigma_disparity, lateral error ~ Z / f."""
    depths, baselines = [2000.0, 4000.0, 8000.0], [150.0, 300.0, 600.0, 1200.0]
    ez = [_depth_error(z, 300.0)[0] for z in depths]
    eb = [_depth_error(4000.0, b)[0] for b in baselines]
    ex = [_depth_error(z, 300.0)[1] for z in depths]
    assert _slope(depths, ez) == pytest.approx(2.0, abs=0.15)
    assert _slope(baselines, eb) == pytest.approx(-1.0, abs=0.1)
    assert _slope(depths, ex) == pytest.approx(1.0, abs=0.15)
    # absolute size: sigma_disparity = sqrt(2) * 2 px, f = 1000 px
    predicted = 4000.0**2 / (1000.0 * 300.0) * np.sqrt(2) * 2.0
    assert _depth_error(4000.0, 300.0)[0] == pytest.approx(predicted, rel=0.15)


def test_forward_noise_in_person_units_grows_linearly_with_depth():
    """With noise relative to the person's size in the image (pixels ~ f / Z): depth error ~ Z / B."""
    depths = [2000.0, 4000.0, 8000.0]
    ez = [_depth_error(z, 300.0, scale_px=None)[0] for z in depths]
    assert _slope(depths, ez) == pytest.approx(1.0, abs=0.15)


def test_forward_at_sigma_zero_is_the_clean_pose():
    X, P, u0 = stereo_views(5)
    gen = torch.Generator().manual_seed(0)
    u, Xn, profile = dual_forward(
        u0, P, pose_scale_px(u0), torch.zeros(5, dtype=torch.float64), [per_view_noise()], [1.0], gen
    )
    assert torch.allclose(u, u0) and torch.allclose(Xn, X, atol=1e-6)
    assert torch.allclose(profile, torch.ones(5, NUM_JOINTS))  # per_view_noise: all joints alike


def test_forward_profile_jitter_shapes_the_per_joint_errors():
    """With a jittered per-joint profile, each sample's joints are noised in proportion to the profile
    it reports (the evidence the denoiser gets), and the profiles vary between samples."""
    n = 20000
    _, P, u0 = stereo_views(n)
    gen = torch.Generator().manual_seed(3)
    scale = pose_scale_px(u0)
    u, _, profile = dual_forward(
        u0, P, scale, torch.ones(n, dtype=torch.float64), [per_view_noise()], [1.0], gen, jitter=0.7
    )
    assert torch.allclose(profile.pow(2).mean(-1), torch.ones(n), atol=1e-5)
    assert float(profile.log().std()) > 0.5
    size = ((u - u0) / scale[:, :, None, None]).norm(dim=-1).mean(1)  # (n, J)
    ratio = size / profile
    # error / profile is the same on every joint (up to sampling noise); error alone is not
    assert float(ratio.mean(0).std() / ratio.mean()) < 0.05
    assert float(size[profile > 1.5].mean() / size[profile < 0.67].mean()) > 2.0


def test_joint_profile_of_a_fitted_model():
    shared = np.full((NUM_JOINTS, 2), 0.01)
    shared[6] = 0.04  # a detector that gets the pelvis wrong
    m = ErrorModel2D(shared_sigma=shared.tolist())
    p = m.joint_profile()
    assert p.shape == (NUM_JOINTS,) and np.sqrt((p**2).mean()) == pytest.approx(1.0)
    assert p[6] == pytest.approx(4 * p[0])
    assert np.allclose(ErrorModel2D().joint_profile(), 1.0)  # no noise at all: flat, not NaN


# ---------------------------------------------------------------- 2D error models


def _synthetic_pairs(model: ErrorModel2D, n: int = 30000, seed: int = 0):
    _, _, gt = stereo_views(n, seed)
    gen = torch.Generator().manual_seed(seed)
    e = sample_errors(model, pose_scale_px(gt), torch.ones(n), gen, with_bias=True)
    return (gt + e.double()).numpy(), gt.numpy()


def test_fit_recovers_a_known_error_model():
    rng = np.random.default_rng(1)
    true = ErrorModel2D(
        "truth",
        bias=rng.normal(0, 0.01, (2, NUM_JOINTS, 2)).tolist(),
        shared_sigma=rng.uniform(0.01, 0.03, (NUM_JOINTS, 2)).tolist(),
        indep_sigma=np.broadcast_to(rng.uniform(0.004, 0.012, (NUM_JOINTS, 2)), (2, NUM_JOINTS, 2)).tolist(),
        offset_sigma=[0.015, 0.01],
        offset_disparity_sigma=0.004,
    )
    fit = fit_error_model(*_synthetic_pairs(true))
    np.testing.assert_allclose(fit.bias, true.bias, atol=1.5e-3)
    for key in ("shared_sigma", "indep_sigma"):
        ratio = np.asarray(getattr(fit, key)) / np.asarray(getattr(true, key))
        assert 0.8 < ratio.mean() < 1.15, (key, ratio.mean())
        assert np.corrcoef(np.ravel(getattr(fit, key)), np.ravel(getattr(true, key)))[0, 1] > 0.8, key
    np.testing.assert_allclose(fit.offset_sigma, true.offset_sigma, rtol=0.3)
    assert fit.offset_disparity_sigma == pytest.approx(true.offset_disparity_sigma, rel=0.4)
    assert fit.outlier_prob == 0.0
    assert fit.rms() == pytest.approx(true.rms(), rel=0.15)
    assert fit.joint_rms() == pytest.approx(true.joint_rms(), rel=0.15)
    # the per-joint part leaves the per-frame offset out
    no_offset = dataclasses.replace(true, offset_sigma=[0.0, 0.0], offset_disparity_sigma=0.0)
    assert true.joint_rms() == pytest.approx(no_offset.rms()) and true.joint_rms() < true.rms()


def test_fit_separates_shared_and_independent_errors():
    shared_only = ErrorModel2D(shared_sigma=np.full((NUM_JOINTS, 2), 0.02).tolist())
    indep_only = ErrorModel2D(indep_sigma=np.full((2, NUM_JOINTS, 2), 0.02).tolist())
    fs = fit_error_model(*_synthetic_pairs(shared_only, 5000))
    fi = fit_error_model(*_synthetic_pairs(indep_only, 5000))
    assert np.mean(fs.indep_sigma) < 0.002 and np.mean(fs.shared_sigma) == pytest.approx(0.02, rel=0.15)
    assert np.mean(fi.shared_sigma) < 0.004 and np.mean(fi.indep_sigma) == pytest.approx(0.02, rel=0.15)


def test_fit_detects_heavy_tails():
    heavy = ErrorModel2D(indep_sigma=np.full((2, NUM_JOINTS, 2), 0.02).tolist(), outlier_prob=0.05)
    assert fit_error_model(*_synthetic_pairs(heavy, 5000)).outlier_prob > 0.01


def test_fit_rejects_bad_input():
    with pytest.raises(BinoposeError, match="17"):
        fit_error_model(np.zeros((20, 2, 16, 2)), np.zeros((20, 2, 16, 2)))
    with pytest.raises(BinoposeError, match="10 finite"):
        fit_error_model(np.full((20, 2, 17, 2), np.nan), np.zeros((20, 2, 17, 2)))


def test_error_model_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    m = ErrorModel2D(
        "roundtrip",
        bias=rng.normal(size=(2, NUM_JOINTS, 2)).tolist(),
        shared_sigma=rng.uniform(size=(NUM_JOINTS, 2)).tolist(),
        offset_sigma=[0.1, 0.2],
        offset_disparity_sigma=0.3,
        outlier_prob=0.04,
        swap_prob=0.01,
    )
    m.save(tmp_path / "m.json")
    assert ErrorModel2D.load(tmp_path / "m.json") == m
    assert m.scaled(2.0).rms() == pytest.approx(2 * m.rms())
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BinoposeError, match="malformed"):
        ErrorModel2D.load(tmp_path / "bad.json")
    with pytest.raises(BinoposeError, match="not found"):
        ErrorModel2D.load(tmp_path / "missing.json")
    (tmp_path / "shape.json").write_text('{"bias": [1, 2]}')
    with pytest.raises(BinoposeError, match="bias"):
        ErrorModel2D.load(tmp_path / "shape.json")


def test_pose_scale_px():
    kp = torch.zeros(3, 2, NUM_JOINTS, 2)
    kp[0, :, :, 0] = torch.linspace(0, 50, NUM_JOINTS)
    kp[0, :, :, 1] = torch.linspace(10, 110, NUM_JOINTS)  # 100 px tall, 50 px wide
    kp[1] = kp[0] * 2
    kp[1, 1, 3] = float("nan")  # a missing joint is ignored
    assert pose_scale_px(kp).tolist() == [[100.0, 100.0], [200.0, 200.0], [1.0, 1.0]]


def test_sample_errors_units():
    m = per_view_noise(0.01)
    scale = torch.tensor([[100.0, 400.0]]).expand(20000, 2)
    e = sample_errors(m, scale, torch.full((20000,), 2.0), torch.Generator().manual_seed(0))
    std = e.std(dim=(0, 2, 3))
    np.testing.assert_allclose(std.numpy(), [2.0, 8.0], rtol=0.03)


# ---------------------------------------------------------------- augmentation


def _bone_lengths(X: torch.Tensor) -> torch.Tensor:
    c, p = zip(*BONES)
    return (X[:, list(c)] - X[:, list(p)]).norm(dim=-1)


def test_augment_without_changes_is_identity():
    W = torch.from_numpy(random_poses(8))
    cfg = AugmentConfig(mirror_prob=0.0, global_scale=(1.0, 1.0), bone_scale=0.0)
    out = augment(W, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(out, W - W[:, ROOT : ROOT + 1], atol=1e-9)


def test_augment_mirror_is_a_reflection_with_left_right_swap():
    W = torch.from_numpy(random_poses(8))
    cfg = AugmentConfig(mirror_prob=1.0, global_scale=(1.0, 1.0), bone_scale=0.0)
    out = augment(W, cfg, torch.Generator().manual_seed(0))
    X = W - W[:, ROOT : ROOT + 1]
    flip = torch.as_tensor(flip_permutation())
    # distances between all joints are kept (after relabelling left <-> right) ...
    assert torch.allclose(torch.cdist(out, out), torch.cdist(X, X)[:, flip][:, :, flip], atol=1e-9)
    # ... but the handedness flips: the best linear map from the relabelled input is a reflection
    A = torch.linalg.lstsq(X[:, flip], out).solution
    assert torch.allclose(torch.linalg.det(A), torch.full((8,), -1.0, dtype=A.dtype), atol=1e-9)


def test_augment_bone_scaling_is_symmetric_and_bounded():
    W = torch.from_numpy(random_poses(64))
    cfg = AugmentConfig(mirror_prob=0.0, global_scale=(0.9, 1.1), bone_scale=0.05)
    out = augment(W, cfg, torch.Generator().manual_seed(0))
    ratio = _bone_lengths(out) / _bone_lengths(W)
    assert ratio.min() > 0.9 * 0.95 - 1e-9 and ratio.max() < 1.1 * 1.05 + 1e-9
    assert ratio.std() > 0.01  # something happened
    c = [child for child, _ in BONES]
    flip = flip_permutation()
    for b, child in enumerate(c):
        assert torch.allclose(ratio[:, b], ratio[:, c.index(int(flip[child]))])


# ---------------------------------------------------------------- virtual rigs


def _scene(n=512, **cfg):
    W = torch.from_numpy(random_poses(n, seed=3))
    return sample_scene(W, RigConfig(**cfg), torch.Generator().manual_seed(0))


def test_rectified_rigs_have_equal_rows():
    s = _scene(converge_prob=0.0)
    u = project(s.X, s.P)
    assert (u[:, 0, :, 1] - u[:, 1, :, 1]).abs().max() < 1e-6
    assert torch.allclose(triangulate(u, s.P), s.X, atol=1e-6)


def test_virtual_rigs_see_the_person_in_front():
    s = _scene()
    Xh = torch.cat([s.X, torch.ones_like(s.X[..., :1])], -1)
    depth = torch.einsum("bvk,bjk->bvj", s.P[:, :, 2], Xh)  # K[2] = (0, 0, 1): third row is depth
    assert (depth > 500).all()
    assert s.X.dtype == torch.float64 and s.K.shape == (512, 2, 3, 3)


def test_virtual_rig_baselines_are_in_range():
    cfg = RigConfig()
    s = _scene()
    lo, hi = cfg.baseline_m
    assert (s.baseline >= lo * 1000 - 1e-6).all() and (s.baseline <= hi * 1000 + 1e-6).all()
    assert torch.allclose(camera_baseline(s.P), s.baseline, rtol=1e-6)
    short = _scene(baseline_ratio=(0.03, 0.04), distance_m=(3.0, 3.0))
    assert torch.allclose(short.baseline, short.baseline.clamp(90.0, 120.0))


def test_virtual_rigs_keep_the_pose():
    W = torch.from_numpy(random_poses(16))
    s = sample_scene(W, dataclasses.replace(RigConfig(), yaw=True), torch.Generator().manual_seed(1))
    assert torch.allclose(torch.cdist(s.X, s.X), torch.cdist(W, W), atol=1e-6)


def test_root_from_hips_numpy_and_torch():
    kp = np.random.default_rng(0).normal(size=(4, 2, NUM_JOINTS, 2))
    kp[1, 0, 3] = np.nan  # a missing left hip: the given pelvis stays
    for a in (kp, torch.from_numpy(kp)):
        before = a.copy() if isinstance(a, np.ndarray) else a.clone()
        out = root_from_hips(a)
        assert np.allclose(np.asarray(a), np.asarray(before), equal_nan=True)  # input untouched
        out = np.asarray(out)
        assert np.allclose(out[0, :, ROOT], (kp[0, :, 2] + kp[0, :, 3]) / 2)
        assert np.allclose(out[1, 0, ROOT], kp[1, 0, ROOT]) and np.allclose(
            out[1, 1, ROOT], (kp[1, 1, 2] + kp[1, 1, 3]) / 2
        )
        others = [j for j in range(NUM_JOINTS) if j != ROOT]
        assert np.allclose(out[:, :, others], kp[:, :, others], equal_nan=True)


def test_definition_offsets_move_only_the_definition_joints():
    poses = torch.from_numpy(random_poses(4000, seed=2))
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    cfg = AugmentConfig(mirror_prob=0.0, global_scale=(1.0, 1.0), bone_scale=0.0)
    plain = augment(poses, cfg, gen_a)
    moved = augment(poses, dataclasses.replace(cfg, definition_offset_mm=25.0), gen_b)
    d = (moved - plain).std(0).mean(-1)  # (J,) per-axis spread of the change
    for j in (7, 8, 9, 12, 13, 16):
        assert d[j] == pytest.approx(25.0, rel=0.1)
    for j in (0, 1, 2, 3, 4, 5, 6, 10, 11, 14, 15):
        assert float(d[j]) < 1e-6
