"""Leave-one-out 2D error measurement (experiments/loo.py) on a synthetic 4-camera scene with known
injected 2D errors: the reference's propagated error must be removed to recover them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))

from loo import leave_one_out, solve_view_variance  # noqa: E402

from binopose.geometry import project  # noqa: E402
from binopose.geometry.rig import Camera  # noqa: E402

SD_PX = np.array([2.0, 3.0, 5.0, 8.0])  # each camera's injected error sd (per axis)


def _camera(centre: np.ndarray, name: str = "cam", f: float = 1600.0) -> Camera:
    """A camera at ``centre`` looking at the origin, z up in the world."""
    z = -centre / np.linalg.norm(centre)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    K = np.array([[f, 0, 540.0], [0, f, 960.0], [0, 0, 1]])
    return Camera(name, (1080, 1920), K, np.zeros(5), R, -R @ centre)


def _cameras() -> list[Camera]:
    angles = np.deg2rad([20.0, 70.0, 200.0, 250.0])  # two pairs that face each other, as in Pose2Sim
    centres = np.stack([3300 * np.cos(angles), 3300 * np.sin(angles), np.full(4, 900.0)], -1)
    return [_camera(c, f"cam0{i + 1}") for i, c in enumerate(centres)]


def _scene(seed: int = 0, frames: int = 300) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Exact pixels (C, F, J, 2), pixels with the injected errors, and P (C, 3, 4)."""
    rng = np.random.default_rng(seed)
    P = torch.tensor(np.stack([c.P for c in _cameras()]))
    X = rng.uniform([-300, -300, -900], [300, 300, 800], size=(frames, 17, 3))
    exact = project(torch.as_tensor(X), P).numpy().transpose(1, 0, 2, 3)
    noisy = exact + rng.normal(size=exact.shape) * SD_PX[:, None, None, None]
    return exact, noisy, P


def _residual_and_jac(noisy: np.ndarray, P: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    reproj, jac = leave_one_out(noisy, np.ones(noisy.shape[:3]), P)
    r = noisy - reproj
    return r - r.mean(1, keepdims=True), jac


def test_leave_one_out_is_exact_without_errors() -> None:
    exact, _, P = _scene(frames=5)
    reproj, jac = leave_one_out(exact, None, P)
    np.testing.assert_allclose(reproj, exact, atol=1e-6)
    assert np.all(jac[np.arange(4), ..., np.arange(4), :] == 0)  # a view is not in its own reference


def test_recovers_injected_sd_per_camera() -> None:
    _, noisy, P = _scene()
    r, jac = _residual_and_jac(noisy, P)
    var, ref = solve_view_variance(r, jac)
    got = np.sqrt(var.mean((1, 2)))
    np.testing.assert_allclose(got, SD_PX, rtol=0.12)
    # the residual alone overstates the precise cameras' error: the correction does the work
    raw = np.sqrt((var + ref).mean((1, 2)))
    assert raw[0] > 1.5 * SD_PX[0] and raw[1] > 1.3 * SD_PX[1]


def test_view_correlation_is_zero_for_independent_errors() -> None:
    from mediapipe_errors import pair_correlation

    from binopose.geometry import triangulate

    exact, noisy, P = _scene(seed=1)
    r, jac = _residual_and_jac(noisy, P)
    var, _ = solve_view_variance(r, jac)
    X = triangulate(torch.as_tensor(exact.transpose(1, 0, 2, 3)), P).numpy()
    v = np.broadcast_to(var[:, None], r.shape)
    rho = [pair_correlation(r, jac, v, X, P, a, b) for a, b in ((0, 1), (0, 2), (1, 3))]
    assert all(abs(c["corrected"]) < 0.15 for c in rho)
    assert any(c["raw"] < -0.3 for c in rho)  # uncorrected, a view's error sits in the other's reference


def test_heavy_tails_recovered_through_a_gaussian_reference() -> None:
    from mediapipe_fit import fit_contaminated

    rng = np.random.default_rng(2)
    n, p, k, f = 4000, 0.05, 5.0, 0.5
    b = 1 / np.sqrt(1 - p + p * k**2)
    own = rng.normal(size=n) * b * np.where(rng.random(n) < p, k, 1.0)
    z = np.sqrt(1 - f) * own + np.sqrt(f) * rng.normal(size=n)
    got_p, got_k = fit_contaminated(z, f)
    assert abs(got_p - p) < 0.025 and abs(got_k - k) < 1.5
    naive_p, naive_k = fit_contaminated(z, 0.0)  # the reference's Gaussian error hides the tails
    assert naive_k < got_k


def test_heldout_scores_a_refiner_given_as_a_function() -> None:
    from pose2sim_data import Capture
    from pose2sim_heldout import score_all

    from binopose.geometry import triangulate

    cams = _cameras()
    exact, noisy, P = _scene(frames=20)
    X = triangulate(torch.as_tensor(exact.transpose(1, 0, 2, 3)), P).numpy()
    cap = Capture([c.name for c in cams], cams, noisy, np.ones(noisy.shape[:3]), X, np.zeros((4, 20), bool))

    def same_as_triangulation(uv, rig, conf):  # in the left camera's frame, as a refiner answers
        return triangulate(
            torch.as_tensor(uv), rig.projection_matrices(torch.float64), torch.as_tensor(conf)
        ).numpy()

    def shifted(uv, rig, conf):
        return same_as_triangulation(uv, rig, conf) + np.array([0.0, 0.0, 50.0])

    res = score_all(cap, {"same": same_as_triangulation, "shifted": shifted})
    assert len(res) == 6
    for r in res.values():
        for k in ("heldout_reproj_px", "vs_heldout_triangulation_mm", "vs_4view_mm"):
            assert abs(r["same"][k] - r["triangulation"][k]) < 1e-6
        assert r["shifted"]["heldout_reproj_px"] > r["triangulation"]["heldout_reproj_px"] + 5
