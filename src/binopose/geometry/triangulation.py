"""Linear triangulation from V >= 2 views, with confidences, and reprojection error.

The linear (DLT) equations ``(u P3 - P1) X = 0``, ``(v P3 - P2) X = 0`` of every view are
weighted by the view's confidence and solved in closed form (3x3 normal equations, adjugate
inverse), batched over any leading shape: no SVD, no Python loops over points. Each view's rows
are divided by ``|P3[:3]|`` so a projection matrix and any multiple of it give the same point.
The solve runs in float64 and the result comes back in the input dtype.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from binopose.errors import BinoposeError
from binopose.geometry.camera import _apply_affine, invert_K, project

#: ``det(M) / (trace(M) / 3) ** 3`` below this means (nearly) parallel rays: the point is NaN.
_SINGULAR_RATIO = 1e-12


# The normal equations ``M X = b`` sum, over views and their two rows ``a = u p3 - p1`` and
# ``a = v p3 - p2`` (``p1 p2 p3`` the rows of P), ``w^2 a[:3] a[:3]^T`` and ``-w^2 a[:3] a[3]``. Expanded,
# every entry is ``w^2 ((u^2 + v^2) q33 - u q13 - v q23 + q0)`` with ``q`` built from P alone: one small
# matmul ``Q @ c`` then sums all views, with ``c = w^2 (u^2 + v^2, u, v, 1)``. Entry order of ``E``:
# M00 M01 M02 M11 M12 M22 b0 b1 b2, i.e. (row, column) of a 4x4 outer product of P rows (column 3 -> b).
_ENTRY_I = (0, 0, 0, 1, 1, 2, 0, 1, 2)
_ENTRY_J = (0, 1, 2, 1, 2, 2, 3, 3, 3)
# The 7 products of P rows used (0, 1, 2 = p1, p2, p3): p3p3, p3p1, p1p3, p3p2, p2p3, p1p1, p2p2 ...
_ROW_A = (2, 2, 0, 2, 1, 0, 1)
_ROW_B = (2, 0, 2, 1, 2, 0, 1)
# ... and how the coefficients of (u^2 + v^2, u, v, 1) combine them.
_COMBINE = ((1, 0, 0, 0, 0, 0, 0), (0, -1, -1, 0, 0, 0, 0), (0, 0, 0, -1, -1, 0, 0), (0, 0, 0, 0, 0, 1, 1))
# Cofactors A..F of the symmetric M (entries 0..5 of E): cof = E[i] E[j] - E[k] E[l].
_COFACTOR = ((3, 5, 4, 4), (2, 4, 1, 5), (1, 4, 2, 3), (0, 5, 2, 2), (1, 2, 0, 4), (0, 3, 1, 1))
_ADJUGATE = (0, 1, 2, 1, 3, 4, 2, 4, 5)  # cofactors -> adj(M), row-major
_TRACE = (0, 3, 5)
#: Poses per block: the work of one block stays in the CPU cache (float64 intermediates).
_CHUNK = 4096


@functools.lru_cache(maxsize=8)
def _constants(device: torch.device) -> dict[str, Tensor]:
    def idx(values: list[int] | tuple[int, ...]) -> Tensor:
        return torch.tensor(values, dtype=torch.long, device=device)

    return {
        "a": idx([4 * r + i for r in _ROW_A for i in _ENTRY_I]),
        "b": idx([4 * r + j for r in _ROW_B for j in _ENTRY_J]),
        "combine": torch.tensor(_COMBINE, dtype=torch.float64, device=device),
        "sign": torch.tensor([1.0] * 6 + [-1.0] * 3, dtype=torch.float64, device=device),
        "cofactor": idx([k for row in zip(*_COFACTOR) for k in row]),
        "adjugate": idx(_ADJUGATE),
        "trace": idx(_TRACE),
    }


def _coefficients(P: Tensor, k: dict[str, Tensor]) -> Tensor:
    """(..., V, 3, 4) float64 -> (..., 9, 4 V): normal-equation entries per coefficient of ``c``."""
    P = (P / P[..., 2:3, :3].norm(dim=-1, keepdim=True)).flatten(-2)  # (..., V, 12)
    prod = (P.index_select(-1, k["a"]) * P.index_select(-1, k["b"])).unflatten(-1, (7, 9))
    Q = (k["combine"] @ prod) * k["sign"]  # (..., V, 4, 9)
    return Q.flatten(-3, -2).transpose(-1, -2)


def _observations(uv: Tensor, conf: Tensor | None) -> tuple[Tensor, Tensor]:
    """(n, V, J, 2), (n, V, J) | None -> c (n, 4 V, J) float64 and the valid mask (n, V, J)."""
    u, v = uv[..., 0].double(), uv[..., 1].double()
    r2 = torch.addcmul(u * u, v, v)
    valid = torch.isfinite(r2)
    c = torch.stack([r2, u, v, torch.ones_like(r2)], -2)  # (n, V, 4, J)
    if conf is not None:
        w = conf.double()
        valid = valid & (w > 0) & torch.isfinite(w)
        c = c * (w * w).unsqueeze(-2)
    return torch.where(valid.unsqueeze(-2), c, 0.0).flatten(-3, -2), valid


def _solve(E: Tensor, enough_views: Tensor, k: dict[str, Tensor]) -> Tensor:
    """Solve ``M X = b`` from E (n, 9, J) by the adjugate: (n, J, 3); NaN where not ``enough_views``
    or where ``det(M) / (trace(M) / 3) ** 3`` is below ``_SINGULAR_RATIO`` (parallel rays)."""
    g = E.index_select(-2, k["cofactor"]).unflatten(-2, (4, 6))
    cof = torch.addcmul(g[..., 0, :, :] * g[..., 1, :, :], g[..., 2, :, :], g[..., 3, :, :], value=-1)
    det = (E[..., :3, :] * cof[..., :3, :]).sum(-2)
    num = (cof.index_select(-2, k["adjugate"]).unflatten(-2, (3, 3)) * E[..., None, 6:, :]).sum(-2)
    scale = E.index_select(-2, k["trace"]).sum(-2) / 3
    ratio = det / scale.clamp_min(torch.finfo(E.dtype).tiny) ** 3
    ok = enough_views & (ratio.abs() > _SINGULAR_RATIO)
    return (num * torch.where(ok, 1 / det, float("nan")).unsqueeze(-2)).transpose(-1, -2)


def _triangulate_block(
    uv: Tensor, Q: Tensor, conf: Tensor | None, k: dict[str, Tensor], dtype: torch.dtype
) -> Tensor:
    c, valid = _observations(uv, conf)
    return _solve(Q @ c, valid.sum(-2) >= 2, k).to(dtype)


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
    k = _constants(uv.device)
    Q = _coefficients(P.double(), k)  # (..., 9, 4 V), computed once per distinct P
    Q = Q.reshape(9, 4 * V) if P.shape[:-3].numel() == 1 else Q.expand(*batch, 9, 4 * V).reshape(n, 9, 4 * V)
    uv = uv.expand(*batch, V, J, 2).reshape(n, V, J, 2)
    conf = None if conf is None else conf.reshape(n, V, J)
    blocks = [
        _triangulate_block(
            uv[s : s + _CHUNK],
            Q if Q.dim() == 2 else Q[s : s + _CHUNK],
            None if conf is None else conf[s : s + _CHUNK],
            k,
            out_dtype,
        )
        for s in range(0, max(n, 1), _CHUNK)
    ]
    X = blocks[0] if len(blocks) == 1 else torch.cat(blocks)
    return X.reshape(*batch, J, 3)


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
