"""Cameras, projection, distortion, triangulation and rig files: smoke, shapes, bad input, noise-free
synthetic scenes, OpenCV parity, gradcheck, real calibration file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from binopose.errors import BinoposeError
from binopose.geometry import (
    distort_points,
    invert_K,
    project,
    projection_matrix,
    reprojection_error,
    triangulate,
    triangulate_rectified,
    undistort_points,
)
from binopose.geometry.rig import (
    Camera,
    StereoRig,
    load_cameras,
    load_rig,
    matrix_to_rodrigues,
    rodrigues_to_matrix,
    save_rig,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
POSE2SIM = DATA / "pose2sim_demo"

# --- synthetic scenes ------------------------------------------------------------------------------


def _K(
    f: float = 1000.0, skew: float = 0.0, cx: float = 640.0, cy: float = 360.0, aspect: float = 1.0
) -> torch.Tensor:
    return torch.tensor([[f, skew, cx], [0.0, f * aspect, cy], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _look_at(centre: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R, t (X_cam = R X + t) of a camera at ``centre`` looking at ``target``, world z up."""
    z = target - centre
    z = z / z.norm()
    x = torch.linalg.cross(z, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    x = x / x.norm()
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z])
    return R, -R @ centre


def wide_rig(views: int, radius: float = 4000.0, skew: float = 1.5) -> torch.Tensor:
    """(V, 3, 4): cameras on a circle of ``radius`` mm around the origin, convergent, skewed K."""
    Ps = []
    for v in range(views):
        a = 0.3 + 1.1 * v  # 63 degrees apart
        centre = torch.tensor(
            [radius * math.cos(a), radius * math.sin(a), 1200.0 + 100 * v], dtype=torch.float64
        )
        R, t = _look_at(centre, torch.tensor([0.0, 0.0, 900.0], dtype=torch.float64))
        Ps.append(projection_matrix(_K(1000 + 40 * v, skew=skew, aspect=1.01), R, t))
    return torch.stack(Ps)


def rectified_rig(baseline: float = 100.0, skew: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(2, 3, 4) projection matrices and (2, 3, 3) K of a rectified pair (right = left shifted by +x)."""
    K = torch.stack([_K(1200, skew=skew, cx=320, cy=240), _K(1200, skew=skew, cx=330, cy=240)])
    R = torch.eye(3, dtype=torch.float64).expand(2, 3, 3)
    t = torch.tensor([[0.0, 0.0, 0.0], [-baseline, 0.0, 0.0]], dtype=torch.float64)
    return projection_matrix(K, R, t), K


def poses(
    shape: tuple[int, ...], centre=(0.0, 0.0, 900.0), spread: float = 400.0, seed: int = 0
) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(*shape, 17, 3, generator=g, dtype=torch.float64) * spread
    return X + torch.tensor(centre, dtype=torch.float64)


# --- smoke, shapes, bad input ------------------------------------------------------------------------


def test_shapes_and_dtypes():
    P = wide_rig(3)
    X = poses((4, 5))
    uv = project(X, P)
    assert uv.shape == (4, 5, 3, 17, 2)
    assert triangulate(uv, P).shape == (4, 5, 17, 3)
    assert triangulate(uv.float(), P.float()).dtype == torch.float32
    assert triangulate(uv, P).dtype == torch.float64
    assert reprojection_error(X, uv, P).shape == (4, 5, 3, 17)
    assert triangulate(uv[:0], P).shape == (0, 5, 17, 3)


@pytest.mark.parametrize(
    "uv_shape, P_shape",
    [((2, 17, 3), (2, 3, 4)), ((2, 17, 2), (3, 3, 4)), ((2, 17, 2), (2, 4, 4)), ((17, 2), (2, 3, 4))],
)
def test_triangulate_bad_shapes(uv_shape, P_shape):
    with pytest.raises(BinoposeError, match="triangulate"):
        triangulate(torch.zeros(uv_shape), torch.zeros(P_shape))


def test_bad_shapes_elsewhere():
    with pytest.raises(BinoposeError, match="project"):
        project(torch.zeros(17, 2), torch.zeros(2, 3, 4))
    with pytest.raises(BinoposeError, match="conf"):
        triangulate(torch.zeros(2, 17, 2), torch.zeros(2, 3, 4), torch.ones(3, 17))
    with pytest.raises(BinoposeError, match="distortion"):
        distort_points(torch.zeros(17, 2), _K(), torch.zeros(3))
    with pytest.raises(BinoposeError, match="triangulate_rectified"):
        triangulate_rectified(torch.zeros(3, 17, 2), torch.eye(3).expand(3, 3, 3), 100.0)


def test_invert_K_with_skew():
    K = _K(900, skew=3.0, cx=200, cy=180, aspect=1.1)
    torch.testing.assert_close(invert_K(K) @ K, torch.eye(3, dtype=torch.float64))


# --- noise-free synthetic scenes: project then triangulate returns the input ------------------------


@pytest.mark.parametrize("views", [2, 3, 4])
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-6), (torch.float32, 0.05)])
def test_round_trip_wide_convergent(views, dtype, atol):
    P = wide_rig(views)
    X = poses((6,))
    uv = project(X, P).to(dtype)
    out = triangulate(uv, P.to(dtype))
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), X, atol=atol, rtol=0)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-6), (torch.float32, 0.2)])
def test_round_trip_short_rectified_baseline(dtype, atol):
    """0.1 m baseline, points 2-4 m away: depth is ~30x less certain than x and y."""
    P, _ = rectified_rig(100.0, skew=2.0)
    X = poses((8,), centre=(0.0, 0.0, 3000.0), spread=300.0)
    out = triangulate(project(X, P).to(dtype), P.to(dtype))
    torch.testing.assert_close(out.double(), X, atol=atol, rtol=0)


@pytest.mark.parametrize("batch", [(), (1,), (7,), (2, 3), (2, 1, 3)])
def test_any_leading_batch_shape(batch):
    P = wide_rig(2)
    X = poses(batch)
    uv = project(X, P)
    torch.testing.assert_close(triangulate(uv, P), X, atol=1e-6, rtol=0)
    # per-pose projection matrices, broadcast along the batch
    Pb = P.expand(*batch, 2, 3, 4)
    torch.testing.assert_close(triangulate(uv, Pb), X, atol=1e-6, rtol=0)


def test_many_poses_in_blocks_per_frame_cameras():
    """More poses than one internal block, each with its own cameras: same result as one by one."""
    n = 9000
    g = torch.Generator().manual_seed(1)
    P = wide_rig(2).expand(n, 2, 3, 4) * (1 + torch.rand(n, 1, 1, 1, generator=g, dtype=torch.float64))
    X = poses((n,))
    uv = project(X, P).float()
    out = triangulate(uv, P)
    torch.testing.assert_close(out.double(), X, atol=0.05, rtol=0)
    idx = [0, 4095, 4096, 8191, 8192, n - 1]
    torch.testing.assert_close(out[idx], triangulate(uv[idx], P[idx]))


def test_projection_matrix_scale_does_not_matter():
    P = wide_rig(3)
    X = poses((3,))
    uv = project(X, P)
    scale = torch.tensor([1e-3, 1.0, 250.0], dtype=torch.float64)[:, None, None]
    torch.testing.assert_close(triangulate(uv, P * scale), triangulate(uv, P), atol=1e-8, rtol=0)


def test_distortion_round_trip_and_triangulation():
    P, K = rectified_rig(250.0, skew=1.0)
    dist = torch.tensor(
        [[-0.21, 0.08, 1e-3, -5e-4, -0.01], [-0.18, 0.05, -2e-4, 8e-4, 0.0]], dtype=torch.float64
    )
    X = poses((5,), centre=(0.0, 0.0, 2500.0), spread=300.0)
    ideal = project(X, P)  # (5, 2, 17, 2)
    distorted = distort_points(ideal, K, dist)
    assert (distorted - ideal).abs().max() > 1.0  # the lens does something
    undistorted = undistort_points(distorted, K, dist)
    torch.testing.assert_close(undistorted, ideal, atol=1e-6, rtol=0)
    torch.testing.assert_close(triangulate(undistorted, P), X, atol=1e-4, rtol=0)
    # 4 coefficients (k3 = 0) are accepted too
    torch.testing.assert_close(
        distort_points(ideal, K, dist[:, :4]), distort_points(ideal, K, dist * torch.tensor([1, 1, 1, 1, 0]))
    )


# --- OpenCV parity ---------------------------------------------------------------------------------------


def test_undistort_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    K = _K(800, cx=320, cy=240)
    dist = torch.tensor([-0.25, 0.09, 1e-3, -2e-3, -0.015], dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    uv = torch.rand(200, 2, generator=g, dtype=torch.float64) * torch.tensor([640.0, 480.0])
    ref = cv2.undistortPoints(
        uv.numpy().reshape(-1, 1, 2), K.numpy(), dist.numpy(), P=K.numpy(),
        criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-14),
    ).reshape(-1, 2)  # fmt: skip
    ours = undistort_points(uv, K, dist, iterations=100).numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_triangulate_matches_opencv_on_noisy_points():
    """cv2 solves the homogeneous DLT by SVD, we solve the inhomogeneous normal equations: the same
    point without noise; with 1 px of noise (~6 mm of 3D error) they differ by ~0.3% of the error on
    average and by at most ~16% of it on the worst of 5100 points (measured; bounds below 0.5%, 25%)."""
    cv2 = pytest.importorskip("cv2")
    P = wide_rig(2)
    X = poses((300,)).reshape(-1, 3)  # (5100, 3)
    uv = project(X, P)  # (2, 5100, 2)

    def opencv(uv: torch.Tensor) -> np.ndarray:
        Xh = cv2.triangulatePoints(P[0].numpy(), P[1].numpy(), uv[0].numpy().T, uv[1].numpy().T)
        return (Xh[:3] / Xh[3]).T

    np.testing.assert_allclose(triangulate(uv, P).numpy(), opencv(uv), atol=1e-4)
    g = torch.Generator().manual_seed(5)
    noisy = uv + torch.randn(uv.shape, generator=g, dtype=torch.float64)
    ref = opencv(noisy)
    err = np.linalg.norm(ref - X.numpy(), axis=-1).mean()  # cv2's own error
    assert 3.0 < err < 12.0
    for dtype in (torch.float64, torch.float32):
        diff = np.linalg.norm(triangulate(noisy.to(dtype), P.to(dtype)).double().numpy() - ref, axis=-1)
        assert diff.mean() < 0.005 * err and diff.max() < 0.25 * err, (dtype, diff.mean(), diff.max(), err)


# --- confidences and missing views ----------------------------------------------------------------------


def test_confidence_weighting_pulls_less():
    P = wide_rig(3)
    X = poses((50,))
    uv = project(X, P)
    g = torch.Generator().manual_seed(2)
    uv[:, 2] += 15.0 * torch.randn(uv[:, 2].shape, generator=g, dtype=torch.float64)  # view 2 is bad
    conf_equal = torch.ones(50, 3, 17, dtype=torch.float64)
    conf_low = conf_equal.clone()
    conf_low[:, 2] = 0.1
    e_equal = (triangulate(uv, P, conf_equal) - X).norm(dim=-1).mean()
    e_low = (triangulate(uv, P, conf_low) - X).norm(dim=-1).mean()
    assert e_low < 0.3 * e_equal
    # confidences of 1 are the same as none, and a common scale does not matter
    torch.testing.assert_close(triangulate(uv, P, conf_equal), triangulate(uv, P))
    torch.testing.assert_close(triangulate(uv, P, 3 * conf_low), triangulate(uv, P, conf_low))


def test_zero_confidence_or_nan_leaves_a_view_out():
    P = wide_rig(3)
    X = poses((4,))
    uv = project(X, P)
    uv[:, 1] += 40.0  # garbage in view 1 ...
    without = triangulate(uv[:, [0, 2]], P[[0, 2]])
    conf = torch.ones(4, 3, 17)
    conf[:, 1] = 0.0  # ... that confidence 0 removes
    torch.testing.assert_close(triangulate(uv, P, conf), without)
    conf[:, 1] = float("nan")
    torch.testing.assert_close(triangulate(uv, P, conf), without)
    nan_uv = uv.clone()
    nan_uv[:, 1] = float("nan")
    torch.testing.assert_close(triangulate(nan_uv, P), without)
    nan_uv[:, 1, :, 0] = 5.0  # half a NaN is still a missing point
    torch.testing.assert_close(triangulate(nan_uv, P), without)
    torch.testing.assert_close(without, X, atol=1e-6, rtol=0)


def test_fewer_than_two_views_is_nan():
    P = wide_rig(3)
    X = poses(())
    uv = project(X, P)
    conf = torch.ones(3, 17)
    conf[1:, 4] = 0  # joint 4 seen by view 0 only
    conf[:, 9] = 0  # joint 9 seen by none
    uv[2, 11] = float("nan")
    conf[1, 11] = 0  # joint 11: view 0 only
    out = triangulate(uv, P, conf)
    nan = torch.isnan(out).all(-1)
    assert nan.tolist() == [j in (4, 9, 11) for j in range(17)]
    torch.testing.assert_close(out[~nan], X[~nan], atol=1e-6, rtol=0)
    assert torch.isnan(triangulate(uv[:1], P[:1])).all()  # one view alone


def test_parallel_rays_are_nan():
    P = wide_rig(2)
    X = poses((2,))
    same = P[[0, 0]]  # the same camera twice: every pair of rays coincides
    assert torch.isnan(triangulate(project(X, same), same)).all()
    P_float = same.float()
    assert torch.isnan(triangulate(project(X, same).float(), P_float)).all()


def test_triangulate_rectified_equals_triangulate():
    P, K = rectified_rig(100.0, skew=2.5)
    X = poses((10,), centre=(100.0, -50.0, 3000.0), spread=300.0)
    uv = project(X, P)
    fast = triangulate_rectified(uv, K, torch.tensor(100.0, dtype=torch.float64))
    torch.testing.assert_close(fast, X, atol=1e-6, rtol=0)
    torch.testing.assert_close(fast, triangulate(uv, P), atol=1e-6, rtol=0)
    # batched K and baseline, float32
    Kb, b = K.expand(10, 2, 3, 3), torch.full((10,), 100.0, dtype=torch.float64)
    torch.testing.assert_close(
        triangulate_rectified(uv.float(), Kb.float(), b.float()).double(), X, atol=0.2, rtol=0
    )
    behind = uv.clone()
    behind[:, 1, :, 0] = behind[:, 0, :, 0] + 50  # negative disparity
    assert torch.isnan(triangulate_rectified(behind, K, 100.0)).all()


def test_reprojection_error():
    P = wide_rig(2)
    X = poses((3,))
    uv = project(X, P)
    assert reprojection_error(X, uv, P).abs().max() < 1e-8
    shifted = uv.clone()
    shifted[..., 0] += 3.0
    shifted[..., 1] += 4.0
    torch.testing.assert_close(
        reprojection_error(X, shifted, P), torch.full((3, 2, 17), 5.0, dtype=torch.float64)
    )


# --- gradients -----------------------------------------------------------------------------------------


def test_gradcheck_project():
    P = wide_rig(2).requires_grad_()
    X = poses((2,))[:, :4].requires_grad_()
    assert torch.autograd.gradcheck(project, (X, P))


def test_gradcheck_triangulate():
    P0 = wide_rig(3)
    X = poses(())[:4]
    uv = (project(X, P0) + 0.5).requires_grad_()
    P = P0.clone().requires_grad_()
    conf = (
        torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        .add(0.5)
        .requires_grad_()
    )
    assert torch.autograd.gradcheck(triangulate, (uv, P, conf))


def test_gradcheck_undistort():
    _, K = rectified_rig()
    dist = torch.tensor([[-0.2, 0.05, 1e-3, -1e-3, 0.0]] * 2, dtype=torch.float64, requires_grad=True)
    uv = (torch.rand(2, 3, 2, dtype=torch.float64) * 400).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, d: undistort_points(a, K, d), (uv, dist))


# --- rig files -----------------------------------------------------------------------------------------


def _camera(name: str, centre_mm, yaw: float, skew: float = 0.0) -> Camera:
    R = rodrigues_to_matrix(np.array([0.0, yaw, 0.0]))
    K = np.array([[1100.0, skew, 960.0], [0.0, 1105.0, 540.0], [0.0, 0.0, 1.0]])
    return Camera(
        name, (1920, 1080), K, np.array([-0.1, 0.02, 1e-4, -2e-4, 0.003]), R, -R @ np.asarray(centre_mm)
    )


def _assert_same_cameras(a: list[Camera], b: list[Camera]) -> None:
    assert [c.name for c in a] == [c.name for c in b]
    for x, y in zip(a, b):
        assert x.size == y.size
        for attr in ("K", "dist", "R", "t"):
            np.testing.assert_allclose(getattr(x, attr), getattr(y, attr), atol=1e-9, err_msg=attr)


@pytest.mark.parametrize("units", ["m", "mm"])
def test_rig_toml_round_trip(tmp_path, units):
    rig = StereoRig(_camera("left", [0, 0, 0], 0.05, skew=0.7), _camera("right", [300.0, 10.0, -5.0], -0.05))
    path = tmp_path / "rig.toml"
    save_rig(rig, path, units=units)
    assert f'units = "{units}"' in path.read_text()
    back = load_rig(path)
    _assert_same_cameras([rig.left, rig.right], [back.left, back.right])
    assert back.baseline_mm == pytest.approx(math.dist([0, 0, 0], [300.0, 10.0, -5.0]))
    torch.testing.assert_close(
        back.projection_matrices(torch.float64), rig.projection_matrices(torch.float64)
    )
    swapped = load_rig(path, left="right", right="left")
    assert (swapped.left.name, swapped.right.name) == ("right", "left")


def test_rig_projection_matrices_triangulate_in_left_frame():
    rig = StereoRig(_camera("l", [0, 0, 0], 0.1), _camera("r", [400.0, 0.0, 0.0], -0.1))
    P = rig.projection_matrices(torch.float64)
    X = poses((3,), centre=(0.0, 0.0, 3000.0))
    torch.testing.assert_close(triangulate(project(X, P), P), X, atol=1e-6, rtol=0)
    assert not rig.is_rectified
    rect = StereoRig(_camera("l", [0, 0, 0], 0.0), _camera("r", [120.0, 0.0, 0.0], 0.0))
    assert rect.is_rectified
    np.testing.assert_allclose(rect.t_right_from_left, [-120.0, 0.0, 0.0], atol=1e-12)


def test_rodrigues_round_trip():
    for r in ([0.0, 0.0, 0.0], [0.1, -0.2, 0.3], [math.pi - 1e-8, 0.0, 0.0], [1.2, 1.0, -0.4]):
        R = rodrigues_to_matrix(np.array(r))
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(rodrigues_to_matrix(matrix_to_rodrigues(R)), R, atol=1e-7)


@pytest.mark.skipif(not (POSE2SIM / "calibration_opencv.toml").is_file(), reason="shared data not available")
def test_pose2sim_calibration_file(tmp_path):
    path = POSE2SIM / "calibration_opencv.toml"
    cams = load_cameras(path)
    assert [c.name for c in cams] == ["cam01", "cam02", "cam03", "cam04"]
    assert 1600 < cams[0].K[0, 0] < 1700
    assert 1000 < np.linalg.norm(cams[0].t) < 10000  # metres in the file, mm here
    rig = load_rig(path)
    assert 500 < rig.baseline_mm < 10000
    save_rig(cams, tmp_path / "again.toml", units="m")
    _assert_same_cameras(cams, load_cameras(tmp_path / "again.toml"))
    ref = POSE2SIM / "reference_4view.npz"
    if not ref.is_file():
        return
    # the whole chain on real data: file -> undistortion -> 4-view DLT. The reference averages 3D
    # landmarks into joints (we average in 2D), so they agree to ~1 mm (median), not exactly.
    z = np.load(ref)
    np.testing.assert_allclose(np.stack([c.K for c in cams]), z["K"], atol=1e-9)
    K = torch.tensor(np.stack([c.K for c in cams]))
    dist = torch.tensor(np.stack([c.dist for c in cams]))
    P = torch.tensor(np.stack([c.P for c in cams]))
    uv = torch.tensor(z["kp2d_h36m17_synced"][..., :2], dtype=torch.float64).transpose(0, 1)  # (F, 4, 17, 2)
    X = triangulate(undistort_points(uv, K, dist), P).numpy()
    err = np.linalg.norm(X - z["kp3d_ref_4view_mm"], axis=-1)
    assert np.median(err) < 2.0 and np.percentile(err, 90) < 8.0, (np.median(err), np.percentile(err, 90))


_GOOD_CAM = """
[{name}]
name = "{name}"
size = [640, 480]
matrix = {matrix}
distortions = [0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = {translation}
"""


def _write_rig(
    tmp_path: Path,
    left_matrix="[[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]]",
    right_t="[-0.1, 0.0, 0.0]",
):
    text = _GOOD_CAM.format(name="a", matrix=left_matrix, translation="[0.0, 0.0, 0.0]")
    text += _GOOD_CAM.format(
        name="b", matrix="[[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]]", translation=right_t
    )
    path = tmp_path / "rig.toml"
    path.write_text(text)
    return path


def test_good_rig_file(tmp_path):
    rig = load_rig(_write_rig(tmp_path))
    assert rig.baseline_mm == pytest.approx(100.0)
    assert rig.is_rectified


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.toml", "not found"),
        (lambda p: (p / "bad.toml").write_text("[cam\nname = ") and p / "bad.toml", "not valid TOML"),
        (lambda p: (p / "empty.toml").write_text("x = 1\n") and p / "empty.toml", "no camera"),
        (
            lambda p: _write_rig(p, left_matrix="[[0.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]]"),
            "focal lengths must be positive",
        ),
        (
            lambda p: _write_rig(p, left_matrix="[[nan, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]]"),
            "non-finite",
        ),
        (lambda p: _write_rig(p, left_matrix="[[800.0, 0.0], [0.0, 800.0]]"), "camera"),
        (lambda p: _write_rig(p, right_t="[0.0, 0.0, inf]"), "non-finite"),
        (lambda p: _write_rig(p, right_t="[0.0, 0.0, 0.0]"), "zero baseline"),
        (
            lambda p: (
                _write_rig(p).read_text().replace("matrix", "matrx")
                and (p / "nom.toml").write_text(_write_rig(p).read_text().replace("matrix", "matrx"))
                and p / "nom.toml"
            ),
            "'matrix'",
        ),
    ],
)
def test_bad_rig_files(tmp_path, make, message):
    with pytest.raises(BinoposeError, match=message):
        load_rig(make(tmp_path))


def test_rig_units_and_camera_names(tmp_path):
    path = _write_rig(tmp_path)
    assert load_rig(path, units="mm").baseline_mm == pytest.approx(0.1)
    with pytest.raises(BinoposeError, match="unit"):
        load_rig(path, units="inch")
    with pytest.raises(BinoposeError, match="no camera named"):
        load_rig(path, left="nope")


@pytest.mark.parametrize("n", [3, 5000])
def test_output_is_an_ordinary_tensor(n):
    """The no-gradient fast path must not hand back inference tensors: later autograd must work."""
    P = wide_rig(2)
    X = triangulate(project(poses((n,)), P), P)
    assert not X.is_inference()
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (X * w).sum().backward()
    assert w.grad is not None
    X += 1.0  # and it can be changed in place
