"""Stereo facts of a camera pair: its baseline, and how depth noise grows with depth over baseline."""

from __future__ import annotations

import torch
from torch import Tensor

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
