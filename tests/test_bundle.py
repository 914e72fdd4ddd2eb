"""The model bundle: one writer and one reader with a ``kind`` key; files without it are the frame
kind; the shipped model reads with its conditioning; the refiner is frozen and undistorts a rig's pixels."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from helpers import camera_frame_poses, tiny_model_config
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from binopose.bundle import BUILDERS, FRAME, read_bundle, write_bundle
from binopose.data.presets import NoiseConfig, build_error_models
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.geometry.camera import distort_points
from binopose.geometry.rig import Camera, StereoRig
from binopose.model import Denoiser
from binopose.refiner import RefineOptions, Refiner


def _bundle(tmp_path, cond: Conditioning | None = None):
    cond = cond or Conditioning()
    torch.manual_seed(0)
    cfg = tiny_model_config()
    net = Denoiser(cfg, cond.evidence_width)
    with torch.no_grad():  # the output layer starts at zero: make it do something
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    models, weights = build_error_models(NoiseConfig())
    return write_bundle(tmp_path / "m", net.state_dict(), cfg, Schedule(), cond, models, weights), net


def _rewrite(path, tmp_path, change) -> object:
    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata())
    config = json.loads(meta["config"])
    change(config)
    out = tmp_path / "changed.safetensors"
    save_file(load_file(str(path)), str(out), metadata={**meta, "config": json.dumps(config)})
    return out


def test_bundle_round_trip_and_kind(tmp_path):
    cond = Conditioning(root_from_hips=False, noise_profile=False)
    path, net = _bundle(tmp_path, cond)
    b = read_bundle(path.parent)
    assert b.kind == FRAME and b.conditioning == cond and set(b.error_models) == {"stereo", "per-view"}
    assert all(torch.equal(v, b.net.state_dict()[k]) for k, v in net.state_dict().items())
    with pytest.raises(BinoposeError, match="unknown model kind 'temporal'"):
        read_bundle(_rewrite(path, tmp_path, lambda c: c.update(kind="temporal")))
    assert set(BUILDERS) == {FRAME}


def test_file_without_kind_is_the_frame_kind_with_legacy_conditioning(tmp_path):
    path, _ = _bundle(tmp_path)

    def legacy(c: dict) -> None:  # the layout of model files before the bundle module
        del c["kind"]
        c["model"].update(c.pop("conditioning"))

    b = read_bundle(_rewrite(path, tmp_path, legacy))
    assert b.kind == FRAME and b.conditioning == Conditioning()


def test_shipped_model_reads_as_a_frame_model_with_its_contract():
    b = read_bundle()
    assert b.kind == FRAME
    assert b.conditioning == Conditioning(root_from_hips=True, noise_profile=True, evidence_2d=True)
    assert b.net.n_evidence == 6


def test_refiner_is_frozen_and_takes_per_call_options(tmp_path):
    path, _ = _bundle(tmp_path)
    ref = Refiner.load(path, steps=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.options = RefineOptions()  # type: ignore[misc]
    assert ref.options.steps == 2 and RefineOptions().steps == 1
    with pytest.raises(TypeError, match="unknown refiner setting"):
        Refiner.load(path, start_level=0.3)


def test_refiner_undistorts_a_distorted_rig(tmp_path):
    """Pixels as a distorted camera sees them, with that rig, give the poses of the ideal pixels with
    the projection matrices; treated as ideal pixels, they would not."""
    path, _ = _bundle(tmp_path)
    ref = Refiner.load(path)
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    dist = [-0.35, 0.12, 0.001, -0.002, 0.0]
    rig = StereoRig(
        Camera("l", (1280, 720), K, dist=dist), Camera("r", (1280, 720), K, dist=dist, t=[-400, 0, 0])
    )
    ideal_rig = StereoRig(Camera("l", (1280, 720), K), Camera("r", (1280, 720), K, t=[-400, 0, 0]))
    P = rig.projection_matrices(torch.float64)
    X = camera_frame_poses(8, 4000.0, 0)
    from binopose.geometry import project

    u = project(X, P)
    Kt, dt = rig.intrinsics(torch.float64)
    raw = torch.stack([distort_points(u[:, v], Kt[v], dt[v]) for v in range(2)], 1)
    assert (raw - u).abs().max() > 3  # the lens moves the pixels
    want = ref.refine(u, P).poses
    torch.testing.assert_close(ref.refine(raw, rig).poses, want, atol=1e-3, rtol=0)
    assert torch.equal(ref.refine(u, ideal_rig).poses, want)  # no distortion: the input untouched
    assert not torch.allclose(ref.refine(raw, P).poses, want, atol=1.0)
