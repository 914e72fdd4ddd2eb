"""Linear triangulation from V >= 2 views, with confidences, and reprojection error.

The linear (DLT) equations ``(u P3 - P1) X = 0``, ``(v P3 - P2) X = 0`` of every view are
weighted by the view's confidence and solved in closed form (3x3 normal equations, adjugate
inverse), batched over any leading shape: no SVD, no Python loops over points. Each view's rows
are divided by ``|P3[:3]|`` so a projection matrix and any multiple of it give the same point.
The solve runs in float64 and the result comes back in the input dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor

from binopose.geometry.camera import invert_K, project

#: ``det(M) / (trace(M) / 3) ** 3`` below this means (nearly) parallel rays: the point is NaN.
_SINGULAR_RATIO = 1e-12


def _valid_weights(uv: Tensor, conf: Tensor | None) -> tuple[Tensor, Tensor]:
    """Zero the weight of NaN points and views with confidence 0 (or NaN); return (uv, w)."""
    finite = torch.isfinite(uv).all(-1)
    w = torch.ones_like(uv[..., 0]) if conf is None else conf.to(uv.dtype).expand_as(uv[..., 0])
    w = torch.where(finite & torch.isfinite(w) & (w > 0), w, torch.zeros_like(w))
    return torch.where(finite.unsqueeze(-1), uv, torch.zeros_like(uv)), w


def _solve_sym3(M: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Solve symmetric 3x3 systems ``M x = b`` by the adjugate; also return det / scale^3."""
    a, d, f = M[..., 0, 0], M[..., 1, 1], M[..., 2, 2]
    bb, c, e = M[..., 0, 1], M[..., 0, 2], M[..., 1, 2]
    A = d * f - e * e
    B = c * e - bb * f
    C = bb * e - c * d
    D = a * f - c * c
    E = bb * c - a * e
    F = a * d - bb * bb
    det = a * A + bb * B + c * C
    x0 = A * b[..., 0] + B * b[..., 1] + C * b[..., 2]
    x1 = B * b[..., 0] + D * b[..., 1] + E * b[..., 2]
    x2 = C * b[..., 0] + E * b[..., 1] + F * b[..., 2]
    scale = (a + d + f) / 3
    ratio = det / scale.clamp_min(torch.finfo(M.dtype).tiny) ** 3
    safe = torch.where(ratio.abs() > _SINGULAR_RATIO, det, torch.ones_like(det))
    return torch.stack([x0, x1, x2], -1) / safe.unsqueeze(-1), ratio


def triangulate(uv: Tensor, P: Tensor, conf: Tensor | None = None) -> Tensor:
    """Weighted linear triangulation.

    Args:
        uv: (..., V, J, 2) ideal pinhole pixels in each view (NaN = not seen).
        P: (..., V, 3, 4) projection matrices (broadcast against uv's batch).
        conf: optional (..., V, J) confidences >= 0; 0 or NaN leaves that view out.
    Returns:
        (..., J, 3) points; NaN for joints seen by fewer than 2 views or with parallel rays.
    """
    if uv.shape[-1] != 2 or P.shape[-2:] != (3, 4) or uv.shape[-3] != P.shape[-3]:
        raise ValueError(
            f"triangulate: expected uv (..., V, J, 2) and P (..., V, 3, 4), got {tuple(uv.shape)}, {tuple(P.shape)}"
        )
    out_dtype = uv.dtype if uv.dtype.is_floating_point else torch.float32
    uv, w = _valid_weights(uv.double(), None if conf is None else conf.double())
    P = P.double()
    P = P / P[..., 2:3, :3].norm(dim=-1, keepdim=True)
    P = P.unsqueeze(-3)  # (..., V, 1, 3, 4)
    # rows (..., V, J, 2, 4): u P3 - P1 and v P3 - P2, weighted
    rows = uv.unsqueeze(-1) * P[..., 2:3, :] - P[..., :2, :]
    rows = rows * w[..., None, None]
    Ar, br = rows[..., :3], rows[..., 3]
    M = torch.einsum("...vjri,...vjrk->...jik", Ar, Ar)
    b = -torch.einsum("...vjri,...vjr->...ji", Ar, br)
    X, ratio = _solve_sym3(M, b)
    n_views = (w > 0).sum(-2)  # (..., J)
    ok = (n_views >= 2) & (ratio.abs() > _SINGULAR_RATIO)
    X = torch.where(ok.unsqueeze(-1), X, torch.full_like(X, float("nan")))
    return X.to(out_dtype)


def triangulate_rectified(uv: Tensor, K: Tensor, baseline: Tensor) -> Tensor:
    """Closed-form triangulation for a rectified pair (``R = I``, ``t = (-baseline, 0, 0)``).

    Depth comes from the disparity of the normalised x coordinates; x and y from the left view
    (the rows of a rectified pair agree, so the left view alone fixes them).

    Args:
        uv: (..., 2, J, 2) left/right pixels. K: (..., 2, 3, 3) intrinsics (skew allowed, may differ
            between views). baseline: (...) baseline in mm (> 0).
    Returns:
        (..., J, 3) points in the left camera frame; NaN where the disparity is <= 0.
    """
    Ki = invert_K(K).unsqueeze(-3)  # (..., 2, 1, 3, 3)
    xy = uv @ Ki[..., :2, :2].transpose(-1, -2) + Ki[..., :2, 2]  # normalised coordinates
    disparity = xy[..., 0, :, 0] - xy[..., 1, :, 0]
    z = baseline.unsqueeze(-1) / disparity
    z = torch.where(disparity > 0, z, torch.full_like(z, float("nan")))
    return torch.stack([xy[..., 0, :, 0] * z, xy[..., 0, :, 1] * z, z], -1)


def reprojection_error(X: Tensor, uv: Tensor, P: Tensor) -> Tensor:
    """Pixel distance between projected points and observations.

    Args:
        X: (..., J, 3). uv: (..., V, J, 2). P: (..., V, 3, 4).
    Returns:
        (..., V, J) errors in pixels (NaN where X or uv is NaN).
    """
    return (project(X, P) - uv).norm(dim=-1)
