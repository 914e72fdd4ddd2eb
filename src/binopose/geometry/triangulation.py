"""Linear triangulation from V >= 2 views, with confidences, and reprojection error.

The linear (DLT) equations ``(u P3 - P1) X = 0``, ``(v P3 - P2) X = 0`` of every view are
weighted by the view's confidence and solved in closed form (3x3 normal equations, adjugate
inverse), batched over any leading shape: no SVD, no Python loops over points. Each view's rows
are divided by ``|P3[:3]|`` so a projection matrix and any multiple of it give the same point.
The normal equations are accumulated and solved in float64 (short baselines need it) and the
result comes back in the input dtype. Large batches run in cache-sized blocks of poses, and
without autograd bookkeeping unless an input requires a gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

from binopose.errors import BinoposeError
from binopose.geometry.camera import _apply_affine, invert_K, project

#: ``det(M) / (trace(M) / 3) ** 3`` below this means (nearly) parallel rays: the point is NaN.
_SINGULAR_RATIO = 1e-12


# The normal equations ``M X = b`` sum, over views and their two rows ``a = u p3 - p1`` and
# ``a = v p3 - p2`` (``p1 p2 p3`` the rows of P), ``w^2 a[:3] a[:3]^T`` and ``-w^2 a[:3] a[3]``. Expanded,
# every entry is ``w^2 ((u^2 + v^2) q33 - u q13 - v q23 + q0)`` with the ``q`` built from P alone, so one
# small matmul ``E = Q @ c`` with ``c = w^2 (u^2 + v^2, u, v, 1)`` sums all views at once, without
# building the (V, J, 2, 4) rows. Entry order of E: M00 M01 M02 M11 M12 M22 b0 b1 b2.
#: Poses per block: the float64 intermediates of one block stay in the CPU cache (a GPU takes more).
_CHUNK = 4096
_CHUNK_GPU = 1 << 20
#: Up to this many entries of ``c`` (a few poses), E is summed elementwise instead of by matmul.
_SMALL = 4096


def _coefficients(P: Tensor) -> Tensor:
    """(..., V, 3, 4) float64 -> Q (..., 9, 4 V): E = Q @ c."""
    P = P / P[..., 2:3, :3].norm(dim=-1, keepdim=True)
    three = (*P.shape[:-1], 3)
    # row index i and column index j of the 9 entries (j = 3: the right-hand side, whose sign is folded in)
    p_i = torch.cat(
        [P[..., 0:1].expand(three), P[..., 1:2].expand(*three[:-1], 2), P[..., 2:3], P[..., :3]], -1
    )
    p_j = torch.cat([P[..., :3], P[..., 1:3], P[..., 2:3], P[..., 3:4].neg().expand(three)], -1)
    i1, i2, i3 = p_i.unbind(-2)  # (..., V, 9) each
    j1, j2, j3 = p_j.unbind(-2)
    q33 = i3 * j3
    q13 = torch.addcmul(i3 * j1, i1, j3).neg()
    q23 = torch.addcmul(i3 * j2, i2, j3).neg()
    q0 = torch.addcmul(i1 * j1, i2, j2)
    # contiguous: a transposed operand sends small batched matmuls down a slower (threaded) path
    return torch.stack([q33, q13, q23, q0], -2).flatten(-3, -2).transpose(-1, -2).contiguous()


def _observations(uv: Tensor, conf: Tensor | None) -> tuple[Tensor, Tensor]:
    """(n, V, J, 2), (n, V, J) | None -> c (n, 4 V, J) float64 and the valid mask (n, V, J)."""
    u, v = uv[..., 0].double(), uv[..., 1].double()
    r2 = torch.addcmul(u * u, v, v)
    valid = r2 < float("inf")  # False for NaN and inf
    c = torch.stack([r2, u, v, torch.ones_like(r2)], -2)  # (n, V, 4, J)
    if conf is not None:
        w = conf.double()
        valid = valid & (w > 0) & (w < float("inf"))
        c = c * (w * w).unsqueeze(-2)
    return torch.where(valid.unsqueeze(-2), c, 0.0).flatten(-3, -2), valid


def _solve(E: Tensor, enough_views: Tensor) -> Tensor:
    """Solve ``M X = b`` from E (n, 9, J) by the adjugate: (n, J, 3); NaN where not ``enough_views``
    or where ``det(M) / (trace(M) / 3) ** 3`` is below ``_SINGULAR_RATIO`` (parallel rays)."""
    a, b, c, d, e, f, r0, r1, r2 = E.unbind(-2)
    A = torch.addcmul(d * f, e, e, value=-1)  # cofactors of the symmetric [[a b c] [b d e] [c e f]]
    B = torch.addcmul(c * e, b, f, value=-1)
    C = torch.addcmul(b * e, c, d, value=-1)
    D = torch.addcmul(a * f, c, c, value=-1)
    E_ = torch.addcmul(b * c, a, e, value=-1)
    F = torch.addcmul(a * d, b, b, value=-1)
    det = torch.addcmul(torch.addcmul(a * A, b, B), c, C)
    x = torch.addcmul(torch.addcmul(A * r0, B, r1), C, r2)
    y = torch.addcmul(torch.addcmul(B * r0, D, r1), E_, r2)
    z = torch.addcmul(torch.addcmul(C * r0, E_, r1), F, r2)
    ratio = det / ((a + d + f) / 3).clamp_min(torch.finfo(E.dtype).tiny) ** 3
    ok = enough_views & (ratio.abs() > _SINGULAR_RATIO)
    return torch.stack([x, y, z], -1) * torch.where(ok, 1 / det, float("nan")).unsqueeze(-1)


def _triangulate_block(uv: Tensor, P: Tensor, conf: Tensor | None, dtype: torch.dtype) -> Tensor:
    """uv (..., V, J, 2), P (..., V, 3, 4), conf (..., V, J) | None, broadcast -> (..., J, 3) in ``dtype``."""
    c, valid = _observations(uv, conf)
    Q = _coefficients(P.double())
    # a few poses: multiply and sum, single-threaded; a batched BLAS matmul of tiny matrices can wait
    # milliseconds for a busy second thread
    E = (Q.unsqueeze(-1) * c.unsqueeze(-3)).sum(-2) if c.numel() <= _SMALL else Q @ c
    return _solve(E, valid.sum(-2) >= 2).to(dtype)


def triangulate(uv: Tensor, P: Tensor, conf: Tensor | None = None) -> Tensor:
    """Weighted linear triangulation.

    Args:
        uv: (..., V, J, 2) ideal pinhole pixels in each view (NaN = not seen).
        P: (..., V, 3, 4) projection matrices (broadcast against uv's batch).
        conf: optional (..., V, J) confidences >= 0; 0 or NaN leaves that view out.
    Returns:
        (..., J, 3) points; NaN for joints seen by fewer than 2 views or with parallel rays.
    """
    if (
        uv.dim() < 3
        or uv.shape[-1] != 2
        or P.dim() < 3
        or P.shape[-2:] != (3, 4)
        or uv.shape[-3] != P.shape[-3]
    ):
        raise BinoposeError(
            f"triangulate: expected uv (..., V, J, 2) and P (..., V, 3, 4), got {tuple(uv.shape)}, {tuple(P.shape)}"
        )
    V, J = uv.shape[-3], uv.shape[-2]
    out_dtype = uv.dtype if uv.dtype.is_floating_point else torch.float32
    try:
        batch = torch.broadcast_shapes(uv.shape[:-3], P.shape[:-3], () if conf is None else conf.shape[:-2])
        if conf is not None:
            conf = conf.expand(*batch, V, J)
    except RuntimeError:
        raise BinoposeError(
            f"triangulate: shapes do not broadcast: uv {tuple(uv.shape)}, P {tuple(P.shape)}, "
            f"conf {None if conf is None else tuple(conf.shape)} (expected conf (..., V, J))"
        ) from None
    n = batch.numel()
    block = _CHUNK if uv.device.type == "cpu" else _CHUNK_GPU
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (uv, P, conf))
    with torch.inference_mode(not needs_grad):  # no autograd bookkeeping unless a gradient is wanted
        if n <= block:  # one block, shapes broadcast as they are
            X = _triangulate_block(uv, P, conf, out_dtype)
        else:  # blocks of poses (not a loop over poses): each block is one batched solve
            uv = uv.expand(*batch, V, J, 2).reshape(n, V, J, 2)
            conf = None if conf is None else conf.reshape(n, V, J)
            shared = P.shape[:-3].numel() == 1  # one set of cameras for every pose
            P = P.reshape(V, 3, 4) if shared else P.expand(*batch, V, 3, 4).reshape(n, V, 3, 4)
            blocks = [
                _triangulate_block(
                    uv[s : s + block],
                    P if shared else P[s : s + block],
                    None if conf is None else conf[s : s + block],
                    out_dtype,
                )
                for s in range(0, n, block)
            ]
    if n > block:
        X = torch.cat(blocks).reshape(*batch, J, 3)  # outside inference mode: an ordinary tensor
    return X.clone() if X.is_inference() else X


def triangulate_rectified(uv: Tensor, K: Tensor, baseline: Tensor | float) -> Tensor:
    """Closed-form triangulation for a rectified pair (``R = I``, ``t = (-baseline, 0, 0)``).

    Depth comes from the disparity of the normalised x coordinates; x and y from the left view
    (the rows of a rectified pair agree, so the left view alone fixes them).

    Args:
        uv: (..., 2, J, 2) left/right pixels. K: (..., 2, 3, 3) intrinsics (skew allowed, may differ
            between views). baseline: (...) baseline in mm (> 0).
    Returns:
        (..., J, 3) points in the left camera frame; NaN where the disparity is <= 0.
    """
    if uv.dim() < 3 or uv.shape[-3:-2] != (2,) or uv.shape[-1] != 2 or K.shape[-3:] != (2, 3, 3):
        raise BinoposeError(
            f"triangulate_rectified: expected uv (..., 2, J, 2) and K (..., 2, 3, 3), got {tuple(uv.shape)}, {tuple(K.shape)}"
        )
    xy = _apply_affine(uv, invert_K(K))  # normalised coordinates, (..., 2, J, 2)
    disparity = xy[..., 0, :, 0] - xy[..., 1, :, 0]
    z = torch.as_tensor(baseline, dtype=xy.dtype, device=xy.device).unsqueeze(-1) / disparity
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
