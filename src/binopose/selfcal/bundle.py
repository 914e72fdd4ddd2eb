"""Bundle adjustment of the right camera's pose (and optionally both focal lengths) and all 3D joints.

Levenberg-Marquardt with the Schur complement on the points (each 3D joint is seen once per view, so
the point block of the normal equations is 3x3 block-diagonal and the reduced camera system has only
5-7 unknowns), analytic Jacobians and a Huber loss by iteratively reweighted least squares. The gauge:
the left camera is [I | 0] and |t| = 1 (the metric scale comes later, from the person).

The reduced camera matrix at the solution doubles as the conditioning report: its inverse, times the
residual variance, is the covariance of the camera parameters (rotation and baseline direction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BundleResult:
    R: np.ndarray  # (3, 3) right from left
    t: np.ndarray  # (3,) unit
    focal_scale: np.ndarray  # (2,) multipliers of fx, fy of each view (1 when not refined)
    X: np.ndarray  # (M, 3) points, left camera frame, units of the baseline
    residual_px: np.ndarray  # (M, 2) reprojection error per view
    camera_cov: (
        np.ndarray
    )  # (C, C) covariance of [rotation (3, rad), t direction (2, rad), log focal (0 or 2)]
    hessian_singular_values: np.ndarray  # (C,) of the reduced camera matrix (normalised by the observations)
    iterations: int


def _skew(v: np.ndarray) -> np.ndarray:
    z = np.zeros_like(v[..., 0])
    return np.stack(
        [np.stack([z, -v[..., 2], v[..., 1]], -1), np.stack([v[..., 2], z, -v[..., 0]], -1),
         np.stack([-v[..., 1], v[..., 0], z], -1)], -2)  # fmt: skip


def _expm(w: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(w))
    if th < 1e-12:
        return np.eye(3)
    k = _skew(w / th)
    return np.eye(3) + np.sin(th) * k + (1 - np.cos(th)) * k @ k


def _tangent(t: np.ndarray) -> np.ndarray:
    """(2, 3) orthonormal basis of the plane perpendicular to unit t."""
    a = np.eye(3)[int(np.argmin(np.abs(t)))]
    e1 = np.cross(t, a)
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(t, e1)])


def _project(Xc: np.ndarray, K: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (M, 2) and d(pixels)/d(Xc) (M, 2, 3) of camera-frame points with focal scale s."""
    z = np.maximum(Xc[:, 2], 1e-9)
    x, y = Xc[:, 0] / z, Xc[:, 1] / z
    fx, fy, sk = K[0, 0] * s, K[1, 1] * s, K[0, 1] * s
    uv = np.stack([fx * x + sk * y + K[0, 2], fy * y + K[1, 2]], -1)
    J = np.zeros((len(Xc), 2, 3))
    J[:, 0, 0], J[:, 0, 1], J[:, 0, 2] = fx / z, sk / z, -(fx * x + sk * y) / z
    J[:, 1, 1], J[:, 1, 2] = fy / z, -fy * y / z
    return uv, J


def _linearise(R, t, s, X, K, refine_focal):
    """Residual-producing pixels (M, 4), camera Jacobian (M, 4, C), point Jacobian (M, 4, 3)."""
    M, C = len(X), 7 if refine_focal else 5
    uv_l, Jl = _project(X, K[0], s[0])
    Xc = X @ R.T + t
    uv_r, Jr = _project(Xc, K[1], s[1])
    Jc = np.zeros((M, 4, C))
    Jc[:, 2:, :3] = Jr @ -_skew(Xc - t)  # rotation: R <- exp(w) R
    Jc[:, 2:, 3:5] = Jr @ _tangent(t).T  # t <- normalise(t + a e1 + b e2)
    if refine_focal:
        Jc[:, :2, 5] = uv_l - K[0, :2, 2]
        Jc[:, 2:, 6] = uv_r - K[1, :2, 2]
    Jp = np.concatenate([Jl, Jr @ R], 1)
    return np.concatenate([uv_l, uv_r], 1), Jc, Jp


def _huber_weights(r: np.ndarray, k: float) -> np.ndarray:
    """(M, 4) residuals -> (M, 4) IRLS weights, one per 2D observation (the norm of its x, y error)."""
    n = np.sqrt(r[:, 0::2] ** 2 + r[:, 1::2] ** 2)
    w = np.where(n <= k, 1.0, k / np.maximum(n, 1e-12))
    return np.repeat(w, 2, axis=1)


def _robust_cost(r: np.ndarray, k: float) -> float:
    n = np.sqrt(r[:, 0::2] ** 2 + r[:, 1::2] ** 2)
    return float(np.where(n <= k, 0.5 * n**2, k * n - 0.5 * k**2).sum())


def _normal_equations(r, Jc, Jp, w, lam):
    """Schur-reduced system: S (C, C), b (C,), and what is needed to back-substitute the points."""
    Jpw = Jp * w[..., None]
    Hpp = np.einsum("mri,mrj->mij", Jpw, Jp)
    Hpp += lam * (np.eye(3) * np.einsum("mii->mi", Hpp)[:, :, None] + 1e-9 * np.eye(3))
    Hcp = np.einsum("mrc,mrj->mcj", Jc * w[..., None], Jp)
    Hcc = np.einsum("mrc,mrd->cd", Jc * w[..., None], Jc)
    gc, gp = np.einsum("mrc,mr->c", Jc, w * r), np.einsum("mrj,mr->mj", Jp, w * r)
    Hpp_inv = np.linalg.inv(Hpp)
    HcpHi = np.einsum("mcj,mjk->mck", Hcp, Hpp_inv)
    S = Hcc - np.einsum("mck,mdk->cd", HcpHi, Hcp)
    b = gc - np.einsum("mck,mk->c", HcpHi, gp)
    return S, b, Hpp_inv, Hcp, gp


def bundle_adjust(
    R: np.ndarray,
    t: np.ndarray,
    X: np.ndarray,
    obs: np.ndarray,
    K: np.ndarray,
    huber_px: float = 3.0,
    refine_focal: bool = False,
    iterations: int = 50,
) -> BundleResult:
    """Refine the right camera (R, t), optionally the focal lengths, and the points X (M, 3).

    Args:
        obs: (M, 4) observed pixels [u_left, v_left, u_right, v_right] of each point; K: (2, 3, 3).
    """
    s, lam, it = np.ones(2), 1e-3, 0
    r = _linearise(R, t, s, X, K, refine_focal)[0] - obs
    cost = _robust_cost(r, huber_px)
    for it in range(1, iterations + 1):  # noqa: B007
        pix, Jc, Jp = _linearise(R, t, s, X, K, refine_focal)
        r = pix - obs
        w = _huber_weights(r, huber_px)
        S, b, Hpp_inv, Hcp, gp = _normal_equations(r, Jc, Jp, w, lam)
        S_d = S + lam * np.diag(np.diag(S)) + 1e-12 * np.eye(len(S))
        dc = -np.linalg.solve(S_d, b)
        dp = -np.einsum("mij,mj->mi", Hpp_inv, gp + np.einsum("mcj,c->mj", Hcp, dc))
        R1, t1, s1, X1 = _apply(R, t, s, X, dc, dp)
        r1 = _linearise(R1, t1, s1, X1, K, refine_focal)[0] - obs
        c1 = _robust_cost(r1, huber_px)
        if c1 < cost:
            done = (cost - c1) < 1e-7 * cost
            R, t, s, X, cost, lam = R1, t1, s1, X1, c1, max(lam / 3, 1e-9)
            if done:
                break
        else:
            lam *= 8
            if lam > 1e8:
                break
    return _finish(R, t, s, X, obs, K, huber_px, refine_focal, it)


def _apply(R, t, s, X, dc, dp):
    R1 = _expm(dc[:3]) @ R
    t1 = t + _tangent(t).T @ dc[3:5]
    s1 = s * np.exp(dc[5:7]) if len(dc) > 5 else s
    return R1, t1 / np.linalg.norm(t1), s1, X + dp


def _finish(R, t, s, X, obs, K, huber_px, refine_focal, it) -> BundleResult:
    pix, Jc, Jp = _linearise(R, t, s, X, K, refine_focal)
    r = pix - obs
    S = _normal_equations(r, Jc, Jp, _huber_weights(r, huber_px), 0.0)[0]
    res = np.sqrt(r[:, 0::2] ** 2 + r[:, 1::2] ** 2)
    sigma = 1.4826 * float(np.median(np.abs(r))) + 1e-9  # robust std of one pixel coordinate
    cov = sigma**2 * np.linalg.pinv(S)
    sv = np.linalg.svd(S / max(len(X), 1), compute_uv=False)
    return BundleResult(R, t, s, X, res, cov, sv, it)
