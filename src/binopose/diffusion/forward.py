"""The forward ("dual") process: noise in 2D in both views, then triangulation to a noisy 3D pose."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D, apply_swaps, sample_errors
from binopose.geometry import project, triangulate


def evidence_features(
    uv: Tensor, X: Tensor, P: Tensor, scale_px: Tensor, conf: Tensor | None = None
) -> Tensor:
    """Per-joint 2D evidence for the denoiser: reprojection residual of ``X`` in both views (fractions
    of the person's size, times 10) and the smaller confidence of the two views.

    Args:
        uv: (B, 2, J, 2). X: (B, J, 3). P: (B, 2, 3, 4). scale_px: (B, 2). conf: (B, 2, J) or None.
    Returns:
        (B, J, 5).
    """
    res = (uv - project(X, P)) / scale_px[:, :, None, None] * 10.0
    res = torch.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0).clamp(-5, 5)
    c = torch.ones_like(uv[:, 0, :, 0]) if conf is None else conf.amin(1)
    return torch.cat([res.permute(0, 2, 1, 3).flatten(2), c.unsqueeze(-1)], -1).to(X.dtype)


def dual_forward(
    u0: Tensor,
    P: Tensor,
    scale_px: Tensor,
    sigma: Tensor,
    models: Sequence[ErrorModel2D],
    weights: Sequence[float],
    gen: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Noise clean 2D keypoints of both views with a mixture of error models, then triangulate.

    Args:
        u0: (B, 2, J, 2) clean 2D. P: (B, 2, 3, 4). scale_px: (B, 2). sigma: (B,) noise levels.
        models, weights: the 2D error models and the probability of each (one is drawn per sample).
    Returns:
        u: (B, 2, J, 2) noisy 2D; X: (B, J, 3) its triangulation (NaN where rays are parallel).
    """
    B = u0.shape[0]
    choice = torch.multinomial(torch.tensor(weights, dtype=torch.float64), B, replacement=True, generator=gen)
    u = u0.clone()
    for i, m in enumerate(models):
        pick = choice == i
        if not pick.any():
            continue
        e = sample_errors(m, scale_px[pick], sigma[pick], gen, with_bias=False).to(u0.dtype)
        swap_prob = m.swap_prob * float(sigma[pick].mean().clamp(max=1.0))
        u[pick] = apply_swaps(u0[pick], swap_prob, gen) + e
    return u, triangulate(u, P)
