"""The forward ("dual") process: noise in 2D in both views, then triangulation to a noisy 3D pose."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D, apply_swaps, profile_jitter, sample_errors
from binopose.diffusion.conditioning import Conditioning
from binopose.geometry import project, triangulate


def evidence_features(
    uv: Tensor,
    X: Tensor,
    P: Tensor,
    scale_px: Tensor,
    conf: Tensor | None = None,
    profile: Tensor | None = None,
) -> Tensor:
    """Per-joint 2D evidence for the denoiser: reprojection residual of ``X`` in both views (fractions
    of the person's size, times 10), the smaller confidence of the two views, and the log of the
    joint's relative 2D noise size (:meth:`ErrorModel2D.joint_profile`; None: all joints alike).

    Args:
        uv: (B, 2, J, 2). X: (B, J, 3). P: (B, 2, 3, 4). scale_px: (B, 2). conf: (B, 2, J) or None.
        profile: (B, J) or (J,) relative noise size per joint, or None.
    Returns:
        (B, J, :data:`~binopose.diffusion.conditioning.EVIDENCE_DIM`).
    """
    res = (uv - project(X, P)) / scale_px[:, :, None, None] * 10.0
    res = torch.nan_to_num(res, nan=0.0, posinf=0.0, neginf=0.0).clamp(-5, 5)
    c = torch.ones_like(uv[:, 0, :, 0]) if conf is None else conf.amin(1)
    if profile is None:
        logp = torch.zeros_like(c)
    else:
        logp = torch.log(torch.as_tensor(profile).to(c).clamp_min(1e-3)).clamp(-3, 3).expand_as(c)
    feats = [res.permute(0, 2, 1, 3).flatten(2), c.unsqueeze(-1), logp.unsqueeze(-1)]
    return torch.cat(feats, -1).to(X.dtype)


def dual_forward(
    u0: Tensor,
    P: Tensor,
    scale_px: Tensor,
    sigma: Tensor,
    models: Sequence[ErrorModel2D],
    weights: Sequence[float],
    gen: torch.Generator,
    jitter: float = 0.0,
    cond: Conditioning | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Noise clean 2D keypoints of both views with a mixture of error models, then triangulate.

    Args:
        u0: (B, 2, J, 2) clean 2D. P: (B, 2, 3, 4). scale_px: (B, 2). sigma: (B,) noise levels.
        models, weights: the 2D error models and the probability of each (one is drawn per sample).
        jitter: spread (log scale) of a random per-joint factor on each sample's error sizes
            (:func:`binopose.data.noise.profile_jitter`; 0: the models' own profiles).
        cond: the conditioning contract whose root rule is applied to the noisy 2D, as the refiner
            applies it to its input (None: no root rule).
    Returns:
        u: (B, 2, J, 2) noisy 2D; X: (B, J, 3) its triangulation (NaN where rays are parallel);
        profile: (B, J) the relative per-joint noise size each sample was drawn with.
    """
    B = u0.shape[0]
    dev = gen.device
    probs = torch.tensor(weights, dtype=torch.float64, device=dev)
    choice = torch.multinomial(probs, B, replacement=True, generator=gen)
    factor = profile_jitter(B, jitter, gen) if jitter > 0 else torch.ones(B, u0.shape[2], device=dev)
    profile = torch.ones(B, u0.shape[2], device=dev)
    u = u0.clone()
    for i, m in enumerate(models):
        pick = choice == i
        if not pick.any():
            continue
        f = factor[pick]
        e = sample_errors(m, scale_px[pick], sigma[pick], gen, with_bias=False, joint_factor=f)
        swap_prob = m.swap_prob * float(sigma[pick].mean().clamp(max=1.0))
        u[pick] = apply_swaps(u0[pick], swap_prob, gen) + e.to(u0.dtype)
        p = torch.from_numpy(m.joint_profile()).float().to(dev) * f
        profile[pick] = p / p.pow(2).mean(-1, keepdim=True).sqrt()
    if cond is not None:
        u, _ = cond.root_input(u)
        profile = cond.root_profile(profile)
    return u, triangulate(u, P), profile
