"""Pinhole camera maths: projection matrices, projection, lens distortion (OpenCV model).

All functions are batched over any leading shape, work on any device and float dtype, and are
differentiable. Conventions: ``X_cam = R @ X + t``, x right, y down, z forward, pixels, millimetres.
"""

from __future__ import annotations

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


def _distort_normalized(xy: Tensor, dist: Tensor) -> Tensor:
    d = dist.unsqueeze(-2)  # (..., 1, 5)
    k1, k2, p1, p2, k3 = (d[..., i] for i in range(5))
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return torch.stack([xd, yd], -1)


def _pad_dist(dist: Tensor) -> Tensor:
    n = dist.shape[-1]
    if n not in (4, 5):
        raise BinoposeError(f"distortion must have 4 or 5 coefficients (k1, k2, p1, p2[, k3]), got {n}")
    return dist if n == 5 else torch.cat([dist, torch.zeros_like(dist[..., :1])], -1)


def distort_points(uv: Tensor, K: Tensor, dist: Tensor) -> Tensor:
    """Apply OpenCV lens distortion (k1, k2, p1, p2, k3) to ideal pinhole pixels.

    Args:
        uv: (..., J, 2) ideal pixels. K: (..., 3, 3). dist: (..., 4 or 5).
    Returns:
        (..., J, 2) distorted pixels.
    """
    dist = _pad_dist(dist)
    return _to_pixels(_distort_normalized(_to_normalized(uv, K), dist), K)


def undistort_points(uv: Tensor, K: Tensor, dist: Tensor, iterations: int = 20) -> Tensor:
    """Remove OpenCV lens distortion from pixels (fixed-point iteration, as ``cv2.undistortPoints``).

    Args:
        uv: (..., J, 2) distorted pixels. K: (..., 3, 3). dist: (..., 4 or 5).
    Returns:
        (..., J, 2) ideal pinhole pixels with the same K.
    """
    dist = _pad_dist(dist)
    xd = _to_normalized(uv, K)
    d = dist.unsqueeze(-2)
    k1, k2, p1, p2, k3 = (d[..., i] for i in range(5))
    xy = xd
    for _ in range(iterations):
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        xy = torch.stack([(xd[..., 0] - dx) / radial, (xd[..., 1] - dy) / radial], -1)
    return _to_pixels(xy, K)


def undistort_views(uv: Tensor, K: Tensor, dist: Tensor) -> Tensor:
    """Remove each view's lens distortion: uv (N, V, J, 2) pixels, K (V, 3, 3), dist (V, 4 or 5)
    -> (N, V, J, 2) ideal pinhole pixels."""
    return torch.stack(
        [undistort_points(uv[:, v], K[v], dist[v]).reshape(uv[:, v].shape) for v in range(uv.shape[1])], 1
    )
