"""The training loss: noise a clean batch through the dual forward process, denoise, compare.

``loss = w3d * MPJPE(x0_pred, x0) + w2d * reprojection error in both views + w_unc * Gaussian NLL``
(3D in metres, 2D in fractions of the person's size; the NLL trains the per-joint uncertainty head
on the detached error, so it never pulls on the pose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from binopose.data.noise import ErrorModel2D
from binopose.data.synth import CleanBatch
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.forward import dual_forward, evidence_features
from binopose.diffusion.schedule import Schedule
from binopose.geometry import project
from binopose.geometry.stereo import depth_gain


@dataclass(frozen=True)
class LossConfig:
    w3d: float = 1.0
    w2d: float = 0.0
    w_unc: float = 0.05
    forward: str = "dual"  # "dual": noise in 2D, triangulated; "3d": isotropic 3D noise (ablation)


def denoising_loss(
    net: nn.Module,
    batch: CleanBatch,
    schedule: Schedule,
    models: Sequence[ErrorModel2D],
    weights: Sequence[float],
    cfg: LossConfig,
    gen: torch.Generator,
    profile_jitter: float = 0.0,
    *,
    cond: Conditioning,
) -> tuple[Tensor, dict[str, float]]:
    """One training loss on a clean batch (Dual-Diffusion forward process + x0 prediction), the network
    fed as ``cond`` says. ``profile_jitter``: see :func:`~binopose.diffusion.forward.dual_forward`."""
    B = batch.X.shape[0]
    t = schedule.sample_steps(B, gen)
    sigma = schedule.sigma_of(t)
    if cfg.forward == "dual":
        u, Xn, profile = dual_forward(
            batch.u, batch.P, batch.scale_px, sigma, models, weights, gen, profile_jitter, cond
        )
    elif cfg.forward == "3d":  # ablation: the 3D noise is not shaped by the stereo geometry
        size_mm = float(np.mean([m.rms() for m in models])) * 1700.0
        Xn = (
            batch.X
            + torch.randn(batch.X.shape, generator=gen, dtype=batch.X.dtype, device=gen.device)
            * (sigma * size_mm)[:, None, None]
        )
        u = project(Xn, batch.P)
        profile = None
    else:
        raise ValueError(f"loss.forward must be 'dual' or '3d', got {cfg.forward!r}")
    return supervised_loss(net, u, Xn, batch, sigma, profile, cfg)


def supervised_loss(
    net: nn.Module,
    u: Tensor,
    Xn: Tensor,
    batch: CleanBatch,
    sigma: Tensor,
    profile: Tensor | None,
    cfg: LossConfig,
) -> tuple[Tensor, dict[str, float]]:
    """Denoise noisy 2D ``u`` (B, 2, J, 2) and its triangulation ``Xn`` at levels ``sigma`` (B,) and
    compare with the clean ``batch``: synthetic noise (:func:`denoising_loss`) or a detector's real
    output (:func:`binopose.training.real_pairs.real_pairs_loss`)."""
    valid = torch.isfinite(Xn).all(-1).all(-1) & (Xn[..., 2] > 100).all(-1)
    Xn = torch.where(valid[:, None, None], Xn, batch.X)
    evidence = evidence_features(u, Xn, batch.P, batch.scale_px, profile=profile)
    x0, log_std = net(Xn.float(), sigma.float(), batch.baseline.float(), evidence.float())
    target = batch.X.float()
    w = valid.float()[:, None]
    n = w.sum().clamp_min(1) * x0.shape[1]
    # errors are measured with depth scaled by baseline / depth (as the noise), so that short rigs,
    # whose depth errors are inherently large, do not drown the others
    gain = depth_gain(Xn[:, :, 2].mean(1), batch.baseline).float()
    axis = torch.stack([torch.ones_like(gain), torch.ones_like(gain), gain.clamp(max=1.0)], -1)[:, None]
    err = ((x0 - target) * axis).norm(dim=-1) / 1000.0  # (B, J) metres, depth-normalised
    l3d = (err * w).sum() / n
    loss = cfg.w3d * l3d
    with torch.no_grad():
        stats = {"loss_3d_mm": float(((x0 - target).norm(dim=-1) * w).sum() / n)}
    if cfg.w2d > 0:
        P = batch.P.float()
        e2 = (project(x0, P) - batch.u.float()).norm(dim=-1) / batch.scale_px.float()[..., None]
        l2d = (e2.mean(1) * w).sum() / n
        loss = loss + cfg.w2d * l2d
        stats["loss_2d"] = float(l2d.detach())
    if cfg.w_unc > 0:
        s2 = torch.exp(2 * log_std)
        nll = err.detach() ** 2 / (2 * s2) + 3 * log_std
        loss = loss + cfg.w_unc * (nll * w).sum() / n
    stats["loss"] = float(loss.detach())
    return loss, stats
