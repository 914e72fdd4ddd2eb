"""Pinhole camera maths: projection matrices, projection, lens distortion (OpenCV's standard, rational
and fisheye models).

All functions are batched over any leading shape, work on any device and float dtype, and are
differentiable. Conventions: ``X_cam = R @ X + t``, x right, y down, z forward, pixels, millimetres.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from binopose.errors import BinoposeError


def projection_matrix(K: Tensor, R: Tensor, t: Tensor) -> Tensor:
    """``P = K [R | t]``.

    Args:
        K: (..., 3, 3) intrinsics (skew allowed). R: (..., 3, 3) rotation. t: (..., 3) translation.
    Returns:
        (..., 3, 4) projection matrices.
    """
    return K @ torch.cat([R, t.unsqueeze(-1)], dim=-1)


def project(X: Tensor, P: Tensor) -> Tensor:
    """Project 3D points into V views.

    Args:
        X: (..., J, 3) points. P: (..., V, 3, 4) projection matrices (broadcast against X's batch).
    Returns:
        (..., V, J, 2) pixel coordinates. Points on the camera plane give inf/NaN.
    """
    if X.shape[-1] != 3 or P.shape[-2:] != (3, 4):
        raise BinoposeError(
            f"project: expected X (..., J, 3) and P (..., V, 3, 4), got {tuple(X.shape)}, {tuple(P.shape)}"
        )
    # (..., V, J, 3) = P[..., :3] @ X^T + P[..., 3]
    Xh = X.unsqueeze(-3)  # (..., 1, J, 3)
    proj = Xh @ P[..., :3].transpose(-1, -2) + P[..., None, :, 3]
    return proj[..., :2] / proj[..., 2:3]


def invert_K(K: Tensor) -> Tensor:
    """Closed-form inverse of upper-triangular intrinsics ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``.

    Args:
        K: (..., 3, 3). Returns: (..., 3, 3).
    """
    fx, s, cx = K[..., 0, 0], K[..., 0, 1], K[..., 0, 2]
    fy, cy = K[..., 1, 1], K[..., 1, 2]
    zero, one = torch.zeros_like(fx), torch.ones_like(fx)
    rows = [
        torch.stack([1 / fx, -s / (fx * fy), (s * cy - cx * fy) / (fx * fy)], -1),
        torch.stack([zero, 1 / fy, -cy / fy], -1),
        torch.stack([zero, zero, one], -1),
    ]
    return torch.stack(rows, -2)


def _apply_affine(uv: Tensor, A: Tensor) -> Tensor:
    """(..., J, 2) points through the affine part of (..., 3, 3) upper-triangular matrices."""
    return uv @ A[..., :2, :2].transpose(-1, -2) + A[..., None, :2, 2]


def _to_normalized(uv: Tensor, K: Tensor) -> Tensor:
    return _apply_affine(uv, invert_K(K))


def _to_pixels(xy: Tensor, K: Tensor) -> Tensor:
    return _apply_affine(xy, K)


# --- lens distortion: OpenCV's standard/rational model and its fisheye (equidistant) model -------------
#: Lengths of a pinhole distortion vector: (k1, k2, p1, p2), (.., k3), and the rational model (.., k4, k5, k6).
PINHOLE_DIST_SIZES = (4, 5, 8)
#: A fisheye camera has (k1, k2, k3, k4) (OpenCV's ``cv2.fisheye``).
FISHEYE_DIST_SIZE = 4


def _pad_dist(dist: Tensor, fisheye: bool) -> Tensor:
    n = dist.shape[-1]
    if fisheye:
        if n != FISHEYE_DIST_SIZE:
            raise BinoposeError(f"fisheye distortion must have 4 coefficients (k1, k2, k3, k4), got {n}")
        return dist
    if n not in PINHOLE_DIST_SIZES:
        raise BinoposeError(
            f"distortion must have 4, 5 or 8 coefficients (k1, k2, p1, p2[, k3[, k4, k5, k6]]), got {n}"
        )
    return torch.cat([dist, torch.zeros_like(dist[..., :1]).expand(*dist.shape[:-1], 8 - n)], -1)


def _coeffs(dist: Tensor) -> list[Tensor]:
    d = dist.unsqueeze(-2)  # (..., 1, n): broadcasts over the points
    return [d[..., i] for i in range(dist.shape[-1])]


def _rational(r2: Tensor, c: list[Tensor]) -> tuple[Tensor, Tensor]:
    """The radial factor g(r2) = (1 + k1 r2 + k2 r2^2 + k3 r2^3) / (1 + k4 r2 + k5 r2^2 + k6 r2^3), dg/dr2."""
    k1, k2, _, _, k3, k4, k5, k6 = c
    num, den = 1 + r2 * (k1 + r2 * (k2 + r2 * k3)), 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    dnum, dden = k1 + r2 * (2 * k2 + 3 * r2 * k3), k4 + r2 * (2 * k5 + 3 * r2 * k6)
    return num / den, (dnum * den - num * dden) / (den * den)


def _distort_pinhole(xy: Tensor, c: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Normalised ideal (..., J, 2) -> distorted (..., J, 2) and the Jacobian (..., J, 2, 2)."""
    _, _, p1, p2, *_ = c
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    g, dg = _rational(r2, c)
    xd = x * g + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * g + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    cross = 2 * x * y * dg + 2 * p1 * x + 2 * p2 * y
    J = torch.stack(
        [
            torch.stack([g + 2 * x * x * dg + 2 * p1 * y + 6 * p2 * x, cross], -1),
            torch.stack([cross, g + 2 * y * y * dg + 6 * p1 * y + 2 * p2 * x], -1),
        ],
        -2,
    )
    return torch.stack([xd, yd], -1), J


def _theta_d(theta: Tensor, c: list[Tensor]) -> tuple[Tensor, Tensor]:
    """Fisheye: distorted angle theta (1 + k1 t^2 + k2 t^4 + k3 t^6 + k4 t^8) and its derivative."""
    k1, k2, k3, k4 = c
    t2 = theta * theta
    poly = 1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))
    dpoly = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
    return theta * poly, dpoly


def _radius(xy: Tensor) -> Tensor:
    return (xy * xy).sum(-1).clamp_min(1e-300 if xy.dtype == torch.float64 else 1e-30).sqrt()


def _distort_fisheye(xy: Tensor, c: list[Tensor]) -> Tensor:
    """Equidistant fisheye (OpenCV ``cv2.fisheye``): the ray's angle theta = atan(r) is bent to theta_d,
    and the point is put at radius theta_d in the normalised image."""
    r = _radius(xy)
    theta_d, _ = _theta_d(torch.atan(r), c)
    return xy * (theta_d / r).unsqueeze(-1)


def distort_points(uv: Tensor, K: Tensor, dist: Tensor, fisheye: bool = False) -> Tensor:
    """Apply OpenCV lens distortion to ideal pinhole pixels.

    Args:
        uv: (..., J, 2) ideal pixels. K: (..., 3, 3). dist: (..., 4, 5 or 8) ``k1, k2, p1, p2[, k3[, k4,
            k5, k6]]`` (OpenCV's standard and rational models), or (..., 4) ``k1..k4`` when ``fisheye``.
    Returns:
        (..., J, 2) distorted pixels.
    """
    c = _coeffs(_pad_dist(dist, fisheye))
    xy = _to_normalized(uv, K)
    return _to_pixels(_distort_fisheye(xy, c) if fisheye else _distort_pinhole(xy, c)[0], K)


def _solve2(J: Tensor, f: Tensor) -> Tensor:
    """J^-1 f for (..., 2, 2) and (..., 2), in closed form (NaN, not an exception, where J is singular)."""
    a, b, c, d = J[..., 0, 0], J[..., 0, 1], J[..., 1, 0], J[..., 1, 1]
    det = a * d - b * c
    return torch.stack([d * f[..., 0] - b * f[..., 1], a * f[..., 1] - c * f[..., 0]], -1) / det.unsqueeze(-1)


def _newton_pinhole(xd: Tensor, c: list[Tensor], iterations: int) -> Tensor:
    xy = xd
    for _ in range(iterations):
        f, J = _distort_pinhole(xy, c)
        step = _solve2(J, f - xd).clamp(-0.5, 0.5)  # bounded: far points of a polynomial overshoot
        xy = xy - step
        if not (step.abs() > 1e-13).any():  # converged everywhere (NaN steps count as done)
            break
    return xy


#: The fold (where the distorted radius stops growing) is searched up to this normalised radius (79 deg).
_FOLD_SEARCH_R, _FOLD_SAMPLES = 5.0, 4096


def _fold(radial: Callable[[Tensor], Tensor], coeff: Tensor, top: float) -> Tensor:
    """(...,): the first radius in (0, top] where ``radial`` (the distorted radius; coefficients (..., 1),
    so (..., samples) out) stops growing, inf where it grows all the way. Per camera, not per point."""
    s = torch.linspace(0.0, top, _FOLD_SAMPLES + 1, dtype=coeff.dtype, device=coeff.device)
    h = radial(s)  # (..., 1 + samples)
    falls = h[..., 1:] < h[..., :-1]
    first = torch.where(
        falls.any(-1), falls.float().argmax(-1), torch.full_like(falls[..., 0], -1, dtype=torch.long)
    )
    return torch.where(
        first >= 0, s[first.clamp_min(0)], torch.full_like(first, float("inf"), dtype=coeff.dtype)
    )


def _undistort_pinhole(xd: Tensor, c: list[Tensor], iterations: int) -> tuple[Tensor, Tensor]:
    """Normalised distorted -> ideal, and a (..., J) mask of points before the model's fold."""
    with torch.no_grad():
        ck = [k.detach() for k in c]
        xy = _newton_pinhole(xd.detach(), ck, iterations)
        _, J = _distort_pinhole(xy, ck)
        fold = _fold(lambda r: r * _rational(r * r, ck)[0], ck[0], _FOLD_SEARCH_R)
        ok = xy.norm(dim=-1) < fold.unsqueeze(-1)
    f, _ = _distort_pinhole(xy, c)  # one differentiable Newton step: the implicit-function gradient
    return xy - _solve2(J, f - xd), ok


def _undistort_fisheye(xd: Tensor, c: list[Tensor], iterations: int) -> tuple[Tensor, Tensor]:
    r_d = _radius(xd)
    top = math.pi / 2 - 1e-3  # rays 90 degrees off the axis have no pinhole image
    with torch.no_grad():
        theta = r_d.detach().clone()
        ck = [k.detach() for k in c]
        for _ in range(iterations):
            f, df = _theta_d(theta, ck)
            step = ((f - r_d) / df).clamp(-0.5, 0.5)
            theta = (theta - step).clamp(0.0, top)
            if not (step.abs() > 1e-13).any():
                break
        _, df = _theta_d(theta, ck)
        ok = theta < _fold(lambda t: _theta_d(t, ck)[0], ck[0], top).clamp_max(top).unsqueeze(-1)
    f, _ = _theta_d(theta, c)
    theta = theta - (f - r_d) / df
    return xd * (torch.tan(theta) / r_d).unsqueeze(-1), ok


def undistort_points(
    uv: Tensor, K: Tensor, dist: Tensor, fisheye: bool = False, iterations: int = 20, tol_px: float = 0.01
) -> Tensor:
    """Remove OpenCV lens distortion from pixels: Newton's method on the lens model, then a check.

    A point is returned as NaN when the model cannot be inverted there: the distorted point, put back
    through the lens, lands more than ``tol_px`` from the input, or the solution lies beyond the radius
    where the model's radial part folds back (the distorted radius stops growing: another ray reaches the
    same pixel), or (fisheye) the ray is 90 degrees or more off the axis. Count the NaN to warn.

    Args:
        uv: (..., J, 2) distorted pixels. K: (..., 3, 3). dist: as for :func:`distort_points`.
    Returns:
        (..., J, 2) ideal pinhole pixels with the same K; gradients are those of the exact inverse.
    """
    c = _coeffs(_pad_dist(dist, fisheye))
    xd = _to_normalized(uv, K)
    solve = _undistort_fisheye if fisheye else _undistort_pinhole
    xy, ok = solve(xd, c, iterations)
    out = _to_pixels(xy, K)
    with torch.no_grad():
        back = distort_points(out, K, dist, fisheye)
        ok = ok & ((back - uv).norm(dim=-1) <= tol_px)
    return torch.where(ok.unsqueeze(-1), out, torch.full_like(out, float("nan")))


def undistort_views(uv: Tensor, K: Tensor, dist: Tensor) -> Tensor:
    """Remove each view's lens distortion (pinhole models): uv (N, V, J, 2) pixels, K (V, 3, 3), dist
    (V, 4, 5 or 8) -> (N, V, J, 2) ideal pinhole pixels. A rig with a fisheye camera: ``StereoRig.undistort``."""
    return torch.stack(
        [undistort_points(uv[:, v], K[v], dist[v]).reshape(uv[:, v].shape) for v in range(uv.shape[1])], 1
    )
