"""Stereo facts of a camera pair: its baseline, how depth noise grows with depth over baseline, its
fundamental matrix and the Sampson (first-order epipolar) distance of point pairs."""

from __future__ import annotations

import torch
from torch import Tensor

from binopose.errors import BinoposeError

#: brings baseline / depth (typically 0.05-1) to order one
BASEL_GAIN = 5.0


def camera_baseline(P: Tensor) -> Tensor:
    """Distance between the two camera centres of (..., 2, 3, 4) projection matrices -> (...,) (float64)."""
    M, p4 = P[..., :3].double(), P[..., 3:].double()
    C = -torch.linalg.solve(M, p4).squeeze(-1)
    return (C[..., 0, :] - C[..., 1, :]).norm(dim=-1)


def depth_gain(center_z: Tensor, baseline: Tensor) -> Tensor:
    """BaseL factor ``5 * baseline / depth`` (any matching shapes, mm): stereo depth noise is
    ``depth / baseline`` times the lateral noise, so scaling depth by this makes the noise about isotropic."""
    return BASEL_GAIN * baseline / center_z.clamp_min(100.0)


def _cross_matrix(v: Tensor) -> Tensor:
    """(..., 3) -> (..., 3, 3) ``[v]_x``, the matrix of ``w -> v x w``."""
    z = torch.zeros_like(v[..., 0])
    x, y, w = v.unbind(-1)
    return torch.stack(
        [torch.stack([z, -w, y], -1), torch.stack([w, z, -x], -1), torch.stack([-y, x, z], -1)], -2
    )


def fundamental_matrix(P: Tensor) -> Tensor:
    """(..., 2, 3, 4) projection matrices -> (..., 3, 3) float64 F with ``x_right^T F x_left = 0``:
    ``F = [e']_x P' P^+``, ``e' = P' C`` the left camera centre C seen by the right camera (Hartley and
    Zisserman, eq. 9.1)."""
    P = P.double()
    Pl, Pr = P[..., 0, :, :], P[..., 1, :, :]
    C = torch.cat([-torch.linalg.solve(Pl[..., :3], Pl[..., 3:]), torch.ones_like(Pl[..., :1, :1])], -2)
    pinv = Pl.transpose(-1, -2) @ torch.linalg.inv(Pl @ Pl.transpose(-1, -2))  # (..., 4, 3)
    return _cross_matrix((Pr @ C).squeeze(-1)) @ Pr @ pinv


def sampson_sq(uv: Tensor, F: Tensor) -> Tensor:
    """Squared Sampson distances (px^2) of point pairs: the first-order least squared move of both
    views' points, together, that puts them on a common epipolar line (Hartley and Zisserman: the
    Sampson error of F). It needs no 3D point, so it stays a noise measure at any disparity; with
    Gaussian noise of sigma px per coordinate in both views, a true pair's value is ``sigma^2`` times a
    chi-square with one degree of freedom.

    Args:
        uv: (..., 2, J, 2) ideal pinhole pixels of the left and right view.
        F: (..., 3, 3) fundamental matrix, ``x_right^T F x_left = 0`` (broadcast against uv's batch).
    Returns:
        (..., J) float64; NaN where a point is missing.
    """
    if uv.dim() < 3 or uv.shape[-3] != 2 or uv.shape[-1] != 2 or F.shape[-2:] != (3, 3):
        raise BinoposeError(
            f"sampson_sq: expected uv (..., 2, J, 2) and F (..., 3, 3), got {tuple(uv.shape)}, {tuple(F.shape)}"
        )
    h = torch.cat([uv.double(), torch.ones_like(uv[..., :1], dtype=torch.float64)], -1)  # (..., 2, J, 3)
    xl, xr = h[..., 0, :, :], h[..., 1, :, :]
    F = F.unsqueeze(-3)  # (..., 1, 3, 3)
    Fx = (F @ xl.unsqueeze(-1)).squeeze(-1)  # the right image's epipolar lines, (..., J, 3)
    Ftx = (F.transpose(-1, -2) @ xr.unsqueeze(-1)).squeeze(-1)  # the left image's
    num = (xr * Fx).sum(-1)
    den = Fx[..., 0] ** 2 + Fx[..., 1] ** 2 + Ftx[..., 0] ** 2 + Ftx[..., 1] ** 2
    return num**2 / den
