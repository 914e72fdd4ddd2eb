"""Lens models against OpenCV: fisheye (cv2.fisheye), the rational model (8 coefficients), undistortion
that checks its own convergence; rig files that carry them; cameras that cannot be right (focal <= 0)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from binopose.errors import BinoposeError, BinoposeWarning
from binopose.geometry import distort_points, undistort_points
from binopose.geometry.rig import Camera, StereoRig, load_cameras, load_rig, save_rig

K = np.array([[620.0, 0.0, 955.0], [0.0, 615.0, 545.0], [0.0, 0.0, 1.0]])
FISHEYE_D = np.array([0.08, -0.03, 0.01, -0.002])
RATIONAL_D = np.array([0.9, -0.2, 1e-3, -2e-3, 0.05, 1.2, -0.1, 0.08])


def _points(n: int = 300, max_deg: float = 75.0, seed: int = 0) -> np.ndarray:
    """(n, 3) points in front of a camera, up to ``max_deg`` off its axis, 1-5 m away (mm)."""
    rng = np.random.default_rng(seed)
    theta, phi = np.radians(rng.uniform(0, max_deg, n)), rng.uniform(0, 2 * np.pi, n)
    d = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)
    return d * rng.uniform(1000, 5000, (n, 1))


def _pinhole_px(X: np.ndarray) -> torch.Tensor:
    return torch.as_tensor((X[:, :2] / X[:, 2:]) @ K[:2, :2].T + K[:2, 2])


def test_fisheye_projection_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    X = _points()
    ref = cv2.fisheye.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, FISHEYE_D)[0]
    ours = distort_points(_pinhole_px(X), torch.as_tensor(K), torch.as_tensor(FISHEYE_D), fisheye=True)
    np.testing.assert_allclose(ours.numpy(), ref.reshape(-1, 2), atol=1e-6)
    back = undistort_points(ours, torch.as_tensor(K), torch.as_tensor(FISHEYE_D), fisheye=True)
    np.testing.assert_allclose(back.numpy(), _pinhole_px(X).numpy(), atol=1e-6)
    ref_back = cv2.fisheye.undistortPoints(ref, K, FISHEYE_D, P=K).reshape(-1, 2)
    np.testing.assert_allclose(back.numpy(), ref_back, atol=1e-3)


def test_rational_projection_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    X = _points(max_deg=50.0)
    ref = cv2.projectPoints(X.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, RATIONAL_D)[0].reshape(-1, 2)
    ours = distort_points(_pinhole_px(X), torch.as_tensor(K), torch.as_tensor(RATIONAL_D))
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-6)
    back = undistort_points(torch.as_tensor(ref), torch.as_tensor(K), torch.as_tensor(RATIONAL_D))
    np.testing.assert_allclose(back.numpy(), _pinhole_px(X).numpy(), atol=1e-6)


def _toml(tmp_path, dist: list[float], fisheye: str = "", units: str = "") -> str:
    cams = []
    for name, tx in (("left", 0.0), ("right", -0.3)):
        cams += [
            f"[{name}]",
            f'name = "{name}"',
            "size = [1920, 1080]",
            f"matrix = {K.tolist()}",
            f"distortions = {dist}",
            "rotation = [0.0, 0.1, 0.0]",
            f"translation = [{tx}, 0.0, 0.0]",
            fisheye,
            "",
        ]
    path = tmp_path / "rig.toml"
    path.write_text("\n".join(cams) + units)
    return path


@pytest.mark.parametrize(
    "dist, fisheye", [(FISHEYE_D.tolist(), "fisheye = true"), (RATIONAL_D.tolist(), "fisheye = false")]
)
def test_rig_file_keeps_the_lens_model(tmp_path, dist, fisheye):
    """A fisheye rig was read as pinhole and written back as ``false``; k4..k6 were dropped."""
    cams = load_cameras(_toml(tmp_path, dist, fisheye))
    assert cams[0].fisheye == ("true" in fisheye)
    np.testing.assert_array_equal(cams[0].dist, dist)
    save_rig(cams, tmp_path / "again.toml")
    assert fisheye in (tmp_path / "again.toml").read_text()
    again = load_cameras(tmp_path / "again.toml")
    np.testing.assert_array_equal(again[1].dist, dist)
    assert again[1].fisheye == cams[1].fisheye


def test_fisheye_rig_projects_like_opencv(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rig = load_rig(_toml(tmp_path, FISHEYE_D.tolist(), "fisheye = true"))
    X = _points(50, max_deg=60.0)  # left camera frame
    uv = rig.distort(torch.stack([_pinhole_px(X), _right_pinhole(rig, X)], -3))  # (2, J, 2)
    R, t = rig.R_right_from_left, rig.t_right_from_left
    ref = cv2.fisheye.projectPoints(X.reshape(-1, 1, 3), cv2.Rodrigues(R)[0], t, K, FISHEYE_D)[0]
    np.testing.assert_allclose(uv[1].numpy(), ref.reshape(-1, 2), atol=1e-6)


def _right_pinhole(rig: StereoRig, X: np.ndarray) -> torch.Tensor:
    Xr = X @ rig.R_right_from_left.T + rig.t_right_from_left
    return _pinhole_px(Xr)


@pytest.mark.parametrize("n", [3, 6, 12, 14])
def test_other_distortion_models_are_refused(n):
    with pytest.raises(BinoposeError, match=f"{n} distortion coefficients"):
        Camera("c", (640, 480), K, np.full(n, 0.01))
    with pytest.raises(BinoposeError, match="distortion"):
        distort_points(torch.zeros(3, 2), torch.as_tensor(K), torch.zeros(n))


def test_fisheye_needs_four_coefficients():
    with pytest.raises(BinoposeError, match="fisheye"):
        Camera("c", (640, 480), K, np.zeros(5), fisheye=True)


WIDE_K = torch.tensor([[700.0, 0.0, 960.0], [0.0, 700.0, 540.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
WIDE_D = torch.tensor([-0.45, 0.25, 1e-3, -1e-3, -0.07], dtype=torch.float64)  # folds back at r ~ 1.28


def test_undistortion_converges_at_wide_angle_corners():
    """The fixed-point iteration (20 steps) was 7-13 px off near the corners of such lenses."""
    g = torch.linspace(-1.6, 1.6, 161, dtype=torch.float64)
    xy = torch.cartesian_prod(g, g)
    xy = xy[xy.norm(dim=-1) < 1.27]  # inside the radius where the lens model folds back
    ideal = xy * 700 + torch.tensor([960.0, 540.0], dtype=torch.float64)
    uv = distort_points(ideal, WIDE_K, WIDE_D)
    inside = ((uv >= 0) & (uv < torch.tensor([1920.0, 1080.0]))).all(-1)
    back = undistort_points(uv[inside], WIDE_K, WIDE_D)
    assert inside.sum() > 4000 and (back - ideal[inside]).norm(dim=-1).max() < 1e-6


def test_undistortion_marks_points_beyond_the_lens_model_as_missing():
    r = torch.linspace(0.0, 3.0, 301, dtype=torch.float64)
    r_d = distort_points(torch.stack([r * 700 + 960, torch.full_like(r, 540.0)], -1), WIDE_K, WIDE_D)[:, 0]
    beyond = torch.tensor([[r_d.max() + 5.0, 540.0], [r_d.max() + 40.0, 540.0]], dtype=torch.float64)
    out = undistort_points(beyond, WIDE_K, WIDE_D)  # no ray of the model reaches these pixels
    assert out.isnan().all()
    fish = undistort_points(  # a fisheye pixel 100 degrees off the axis has no pinhole image
        torch.tensor([[955.0 + 620 * np.radians(100.0), 545.0]], dtype=torch.float64),
        torch.as_tensor(K),
        torch.zeros(4, dtype=torch.float64),
        fisheye=True,
    )
    assert fish.isnan().all()


@pytest.mark.parametrize("f", [-800.0, 0.0, float("nan")])
def test_non_positive_focal_length_is_refused(tmp_path, f):
    bad = K.copy()
    bad[0, 0] = f
    with pytest.raises(BinoposeError, match="focal|non-finite"):
        Camera("c", (640, 480), bad)
    text = _toml(tmp_path, [0.0] * 4).read_text().replace("620.0", str(f), 1)
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(BinoposeError, match="focal|non-finite"):
        load_rig(tmp_path / "bad.toml")


def test_fisheye_rig_through_lift(tmp_path):
    """Fisheye pixels in, the right 3D points out (undistorted with the fisheye model, triangulated)."""
    from binopose.io import Keypoints2D
    from binopose.video.pipeline import LiftConfig, lift

    rig = load_rig(_toml(tmp_path, FISHEYE_D.tolist(), "fisheye = true"))
    X = _points(17 * 4, max_deg=55.0, seed=1) * 0.5 + [0.0, 0.0, 1500.0]  # in front of both cameras
    uv = rig.distort(torch.stack([_pinhole_px(X), _right_pinhole(rig, X)], -3))  # (2, 68, 2)
    kp = uv.numpy().reshape(2, 4, 17, 2).transpose(1, 0, 2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinoposeWarning)  # a random cloud is no person: scale warning
        poses, _ = lift(Keypoints2D(kp, None), rig, LiftConfig(refine=False, lr_fix=False))
    np.testing.assert_allclose(poses.poses.reshape(-1, 3), X, atol=1e-3)


def test_keypoints_beyond_the_lens_model_are_counted(tmp_path):
    from binopose.video.pipeline import undistort

    left = Camera("l", (1920, 1080), WIDE_K.numpy(), WIDE_D.numpy())
    right = Camera("r", (1920, 1080), WIDE_K.numpy(), WIDE_D.numpy(), t=[-300.0, 0.0, 0.0])
    kp = np.full((1, 2, 17, 2), 900.0)
    kp[0, 0, :3] = [5000.0, 540.0]  # no ray of the left lens model reaches these pixels
    with pytest.warns(BinoposeWarning, match="^3 keypoints lie where"):
        out = undistort(kp, StereoRig(left, right))
    assert out.isnan().any(-1).sum() == 3
