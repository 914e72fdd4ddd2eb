"""The user-facing Refiner on synthetic stereo 2D keypoints: shapes, chunking, missing joints,
bad input, rigs versus projection matrices."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import stereo_views, tiny_model_config

from binopose.data.presets import NoiseConfig, build_error_models
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, StereoRig
from binopose.geometry.stereo import camera_baseline
from binopose.model import Denoiser
from binopose.refiner import CompileError, RefineOptions, Refiner, split_settings
from binopose.skeleton import root_from_hips

N = 40


def make_refiner(**options) -> Refiner:
    torch.manual_seed(0)
    net = Denoiser(tiny_model_config())
    with torch.no_grad():  # the output layer starts at zero: make the network do something
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    models, _ = build_error_models(NoiseConfig())
    opts, settings = split_settings(options)
    return Refiner(net.eval(), Schedule(), {m.name: m for m in models}, Conditioning(), opts, **settings)


def noisy_input(n: int = N, seed: int = 0):
    X, P, u = stereo_views(n, seed)
    gen = torch.Generator().manual_seed(seed)
    u = u + torch.randn(u.shape, generator=gen, dtype=u.dtype) * 3.0
    u[: n // 2, 1, :, 1] = u[: n // 2, 0, :, 1]  # half of them look stereo-aware (same rows)
    return X, P, u


@pytest.mark.parametrize("steps,hypotheses", [(1, 1), (2, 1), (3, 5)])
def test_refine_shapes(steps, hypotheses):
    _, P, u = noisy_input()
    res = make_refiner(steps=steps, hypotheses=hypotheses).refine(u, P)
    assert res.poses.shape == (N, 17, 3) and res.triangulated.shape == (N, 17, 3)
    assert res.kp2d.shape == (N, 2, 17, 2)
    assert torch.isfinite(res.poses).all()
    assert torch.isfinite(res.kp2d).all()


def test_numpy_input_and_aggregation():
    _, P, u = noisy_input(8)
    res = make_refiner(hypotheses=3, aggregate="reprojection").refine(u.numpy(), P.numpy())
    assert res.poses.shape == (8, 17, 3) and torch.isfinite(res.poses).all()


@pytest.mark.parametrize("kind", ["auto", "stereo", "per-view"])
def test_chunks_give_the_same_result(kind):
    _, P, u = noisy_input()
    whole = make_refiner(noise_kind=kind).refine(u, P)
    parts = make_refiner(noise_kind=kind, chunk=7).refine(u, P)
    for a, b in zip(
        (whole.poses, whole.kp2d, whole.triangulated),
        (parts.poses, parts.kp2d, parts.triangulated),
    ):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-5)


def test_missing_joints_stay_missing():
    _, P, u = noisy_input(6)
    u[0, 0, 3] = float("nan")  # joint 3 not seen in the left view
    u[1, :, 5] = float("nan")  # joint 5 seen in no view
    conf = torch.ones(6, 2, 17)
    conf[2, 1, 9] = 0.0  # joint 9 of pose 2 not trusted in the right view
    res = make_refiner().refine(u, P, conf)
    missing = torch.zeros(6, 17, dtype=torch.bool)
    missing[0, 3] = missing[1, 5] = missing[2, 9] = True
    assert torch.isnan(res.poses[missing]).all()
    assert torch.isfinite(res.poses[~missing]).all()


def test_a_pose_with_no_joints_is_all_nan():
    _, P, u = noisy_input(3)
    u[1] = float("nan")
    res = make_refiner().refine(u, P)
    assert torch.isnan(res.poses[1]).all() and torch.isfinite(res.poses[[0, 2]]).all()


def test_bad_shapes_raise():
    _, P, u = noisy_input(4)
    ref = make_refiner()
    with pytest.raises(BinoposeError, match=r"\(N, 2, 17, 2\)"):
        ref.refine(u[:, :, :16], P)
    with pytest.raises(BinoposeError, match=r"\(N, 2, 17, 2\)"):
        ref.refine(u[0], P)
    with pytest.raises(BinoposeError, match="projection matrices"):
        ref.refine(u, P[:, :, :, :3])
    with pytest.raises(BinoposeError, match="projection matrices"):
        ref.refine(u, P[:3])
    with pytest.raises(BinoposeError, match="confidences"):
        ref.refine(u, P, torch.ones(4, 17))


def _rig() -> StereoRig:
    X, P, u = stereo_views(1)
    K = P[0, 0, :, :3].numpy()
    M = P[0, 1].numpy()
    R = np.linalg.solve(K, M[:, :3])
    t = np.linalg.solve(K, M[:, 3])
    return StereoRig(Camera("L", (1280, 720), K), Camera("R", (1280, 720), K, R=R, t=t))


def test_rig_and_matrices_agree():
    _, P, u = noisy_input()
    rig = _rig()
    assert torch.allclose(rig.projection_matrices(torch.float64), P[0])
    ref = make_refiner()
    a = ref.refine(u, rig)
    b = ref.refine(u, P)
    c = ref.refine(u, P[0])  # one (2, 3, 4) for all
    assert torch.allclose(a.poses, b.poses, atol=1e-6) and torch.allclose(b.poses, c.poses)
    assert camera_baseline(P)[0] == pytest.approx(rig.baseline_mm)


def test_refiner_loads_with_options(tmp_path):
    from binopose.checkpoint import save_model

    ref = make_refiner()
    cfg = {
        "model": dataclasses.asdict(ref.net.cfg),
        "schedule": dataclasses.asdict(ref.schedule),
        "conditioning": dataclasses.asdict(ref.conditioning),
    }
    err = {"models": [dataclasses.asdict(m) for m in ref.error_models.values()], "weights": [0.5, 0.5]}
    save_model(tmp_path / "m", ref.net.state_dict(), cfg, err)
    loaded = Refiner.load(tmp_path / "m", steps=2, hypotheses=3)
    assert loaded.options == RefineOptions(steps=2, hypotheses=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.options = RefineOptions()  # type: ignore[misc]
    with pytest.raises(BinoposeError, match="not found"):
        Refiner.load(tmp_path / "nothing")


def test_root_from_hips_ignores_the_detected_pelvis():
    """A model with ``root_from_hips`` gives the same result whatever the detector says about the
    pelvis; one without it does not."""
    _, P, u = noisy_input(6)
    moved = u.clone()
    moved[:, :, 6] += torch.tensor([-5.0, -15.0], dtype=u.dtype)  # MHAD's pelvis bias, in pixels
    ref = make_refiner()
    assert ref.conditioning.root_from_hips
    assert torch.allclose(ref.network_pass(u, P), ref.network_pass(moved, P))
    plain = dataclasses.replace(ref, conditioning=Conditioning(root_from_hips=False))
    assert not torch.allclose(plain.network_pass(u, P), plain.network_pass(moved, P))


def test_noise_profile_is_an_input():
    """The per-joint noise profile reaches the network: a different profile, a different pose."""
    _, P, u = noisy_input(6)
    ref = make_refiner()
    a = ref.network_pass(u, P)
    other = RefineOptions(noise_profile=np.where(np.arange(17) == 9, 3.0, 0.7))
    b = ref.network_pass(u, P, None, other)
    assert not torch.allclose(a, b)
    cond = Conditioning(noise_profile=False)
    blind = dataclasses.replace(
        ref, net=Denoiser(tiny_model_config(), cond.evidence_width).eval(), conditioning=cond
    )
    c = blind.network_pass(u, P, None, other)
    assert torch.allclose(c, blind.network_pass(u, P))


def test_device_and_precision_options():
    assert make_refiner(device="auto").device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    for bad, message in (
        ({"device": "tpu"}, "device must be"),
        ({"precision": "float8"}, "precision must be"),
    ):
        with pytest.raises(BinoposeError, match=message):
            make_refiner(**bad)
    if not torch.cuda.is_available():
        with pytest.raises(BinoposeError, match="no CUDA GPU"):
            make_refiner(device="cuda")
    _, P, u = noisy_input(8)
    full = make_refiner().network_pass(u, P)
    half = make_refiner(precision="bfloat16").network_pass(u, P)
    assert torch.isfinite(half).all() and not torch.equal(full, half)  # the network really ran in bfloat16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_gives_the_cpu_result():
    _, P, u = noisy_input()
    cpu = make_refiner().refine(u, P)
    gpu = make_refiner(device="cuda").refine(u, P)
    assert gpu.poses.device.type == "cpu"
    assert torch.allclose(cpu.poses, gpu.poses, atol=1e-2)


def test_each_family_starts_at_its_default_level():
    """Without a start level, stereo-aware inputs start at the stereo family's default level and
    per-view inputs at theirs; an explicit start level overrides both."""
    _, P, u = noisy_input()
    ref = make_refiner()
    models = {
        "stereo": dataclasses.replace(ref.error_models["stereo"], default_level=0.3),
        "per-view": dataclasses.replace(ref.error_models["per-view"], default_level=0.8),
    }
    ref = dataclasses.replace(ref, error_models=models)
    by_default = ref.network_pass(u, P)
    stereo = ref.looks_stereo(root_from_hips(u), P)  # as the refiner classifies its input
    assert stereo.any() and (~stereo).any()
    for level, rows in ((0.3, stereo), (0.8, ~stereo)):
        assert torch.allclose(
            ref.network_pass(u, P, None, RefineOptions(start_sigma=level))[rows], by_default[rows]
        )
    moved = ref.network_pass(u, P, None, RefineOptions(start_sigma=1.4))
    assert not torch.allclose(moved[stereo], by_default[stereo])


def test_minimax_level_takes_the_smallest_worst_regret():
    from binopose.training.validate import START_LEVELS, TRUE_LEVELS, minimax_level

    t, s = np.asarray(TRUE_LEVELS)[:, None], np.asarray(START_LEVELS)[None]
    table = 1 + 0.2 * np.abs(np.log(s / t))  # best at the true level, worse both ways
    assert minimax_level(table) == 0.3  # the geometric middle of 0.1 .. 1.4
    table[:, 0] -= 1.0  # the lowest start level now wins everywhere
    assert minimax_level(table) == START_LEVELS[0]


def test_error_model_default_level_is_checked():
    from binopose.data.noise import ErrorModel2D

    d = dataclasses.asdict(make_refiner().error_models["stereo"])
    assert ErrorModel2D.from_dict({k: v for k, v in d.items() if k != "default_level"}).default_level == 1.0
    with pytest.raises(ValueError, match="default_level"):
        ErrorModel2D.from_dict({**d, "default_level": 0.0})


def test_out_level_scales_the_correction_with_the_noise_level():
    torch.manual_seed(1)
    plain = Denoiser(tiny_model_config())
    with torch.no_grad():
        for p in plain.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    scaled = Denoiser(tiny_model_config(out_level=0.3))
    scaled.load_state_dict(plain.state_dict())
    X = stereo_views(6, 0)[0].double()
    B = torch.full((6,), 300.0)
    for s in (0.01, 0.2, 1.0, 2.5):
        sigma = torch.full((6,), s)
        step_plain = plain.eval()(X, sigma, B)[0] - X
        step_scaled = scaled.eval()(X, sigma, B)[0] - X
        assert step_plain.abs().max() > 1.0  # the network does move the pose
        torch.testing.assert_close(step_scaled, step_plain * (s / (s + 0.3)))
    with pytest.raises(BinoposeError, match="out_level"):
        Denoiser(tiny_model_config(out_level=-0.1))


def test_compile_is_checked_when_the_refiner_is_built(monkeypatch):
    calls = []

    def working(net, dynamic):
        calls.append(dynamic)
        return net

    monkeypatch.setattr(torch, "compile", working)
    _, P, u = noisy_input(8)
    plain = make_refiner().network_pass(u, P)
    torch.testing.assert_close(make_refiner(compile=True).network_pass(u, P), plain)
    assert calls == [True]

    def broken(net, dynamic):
        def call(*args):
            raise RuntimeError("no C++ compiler found\nlong inductor report")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.raises(CompileError, match="torch.compile failed on this machine") as e:
        make_refiner(compile=True)
    assert "no C++ compiler found" in str(e.value) and "\n" not in str(e.value)
