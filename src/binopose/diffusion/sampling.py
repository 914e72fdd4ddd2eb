"""Sampling: start from the triangulated input at the noise level of the 2D error, take K DDIM steps.

One step at level sigma (in 2D, both views; the 3D is the triangulation of the 2D):
    X_t   = triangulate(u_t)
    x0    = D(X_t, sigma_t)                  # the denoiser's clean 3D pose
    u0    = project(x0)                      # clean 2D in both views
    u_s   = u0 + (sigma_s / sigma_t) (u_t - u0)   # deterministic DDIM (Song et al. 2021, eq. 12,
                                                  # variance-exploding form; Karras et al. 2022, eq. 4)
The output is the last ``x0``. With K = 1 that is one network call at the input's noise level.
With H hypotheses the input is perturbed by extra 2D noise from the error model (at ``spread`` times
its level), each hypothesis is denoised, and they are aggregated by their mean or by the lowest
reprojection error against the input; their per-joint spread is the sampling uncertainty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D, sample_errors
from binopose.diffusion.forward import evidence_features
from binopose.geometry import project, triangulate

Denoise = Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class SampleResult:
    poses: Tensor  # (B, J, 3)
    uncertainty: Tensor  # (B, J) mm
    triangulated: Tensor  # (B, J, 3)


def _fill_missing(X: Tensor, fallback: Tensor) -> Tensor:
    """Replace NaN joints by the fallback (the input's triangulation or its centroid)."""
    return torch.where(torch.isfinite(X), X, fallback)


def ddim_sample(
    denoise: Denoise,
    u: Tensor,
    P: Tensor,
    baseline: Tensor,
    scale_px: Tensor,
    sigmas: list[float],
    conf: Tensor | None = None,
    X_in: Tensor | None = None,
    profile: Tensor | None = None,
    evidence_conf: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Run the deterministic sampler over the noise levels ``sigmas`` (decreasing, last = 0).

    Args:
        denoise: ``(X, sigma, baseline, evidence) -> (x0, log_std)``.
        u: (B, 2, J, 2) input 2D (bias removed). P: (B, 2, 3, 4). baseline: (B,). scale_px: (B, 2).
        X_in: the input's triangulation (B, J, 3) if the caller has it already.
        profile: (B, J) or (J,) relative 2D noise size per joint (:meth:`ErrorModel2D.joint_profile`).
        conf: (B, 2, J) triangulation weights (0 = missing). evidence_conf: the confidences the network
            sees (None: ``conf``).
    Returns:
        x0: (B, J, 3) and log_std: (B, J) of the last call.
    """
    if X_in is None:
        X_in = triangulate(u, P, conf)
    centroid = torch.nanmean(X_in, dim=1, keepdim=True).expand_as(X_in)
    X_t = _fill_missing(X_in, centroid)
    u_t = u
    ev_conf = conf if evidence_conf is None else evidence_conf
    x0 = log_std = None
    for i, s in enumerate(sigmas[:-1]):
        if i > 0:
            X_t = _fill_missing(triangulate(u_t, P, conf), X_t)
        ev = evidence_features(u_t, X_t, P, scale_px, ev_conf, profile)
        sig = torch.full_like(baseline, s)
        x0, log_std = denoise(X_t, sig, baseline, ev)
        x0 = x0.to(u.dtype)
        s_next = sigmas[i + 1]
        if s_next > 0:
            u0 = project(x0, P)
            # a missing keypoint stays missing (NaN, weight 0): it is never pixel (0, 0)
            u_t = u0 + (s_next / s) * (u_t - u0)
    return x0, log_std


def refine_2d(
    denoise: Denoise,
    u: Tensor,
    P: Tensor,
    baseline: Tensor,
    scale_px: Tensor,
    sigmas: list[float],
    hypotheses: int = 1,
    aggregate: str = "mean",
    error_model: ErrorModel2D | None = None,
    spread: float = 0.5,
    conf: Tensor | None = None,
    gen: torch.Generator | None = None,
    profile: Tensor | None = None,
    evidence_conf: Tensor | None = None,
) -> SampleResult:
    """Refine (B, 2, J, 2) 2D input: K = len(sigmas) - 1 steps, H hypotheses, aggregated.
    ``profile``: (J,) or (B, J) relative 2D noise size per joint (None: the error model's, if any)."""
    tri = triangulate(u, P, conf)
    if profile is None and error_model is not None:
        profile = torch.from_numpy(error_model.joint_profile())
    if profile is not None:
        profile = torch.as_tensor(profile).to(u).expand(u.shape[0], u.shape[2])
    if hypotheses <= 1:
        x0, log_std = ddim_sample(
            denoise,
            u,
            P,
            baseline,
            scale_px,
            sigmas,
            conf,
            X_in=tri,
            profile=profile,
            evidence_conf=evidence_conf,
        )
        return SampleResult(x0, torch.exp(log_std).to(x0.dtype) * 1000.0, tri)
    if error_model is None:
        raise ValueError("hypotheses > 1 needs an error model to draw the perturbations from")
    gen = gen or torch.Generator().manual_seed(0)
    B, H = u.shape[0], hypotheses
    rep = lambda a: a.repeat_interleave(H, 0)  # noqa: E731
    extra = sample_errors(
        error_model, rep(scale_px).cpu(), torch.full((B * H,), spread), gen, with_bias=False
    )
    extra = extra.to(u)
    extra.view(B, H, *extra.shape[1:])[:, 0] = 0  # the first hypothesis is the unperturbed input
    s0 = (sigmas[0] ** 2 + spread**2) ** 0.5
    sig_h = [s0] + sigmas[1:]
    x0, log_std = ddim_sample(
        denoise,
        rep(u) + extra,
        rep(P),
        rep(baseline),
        rep(scale_px),
        sig_h,
        None if conf is None else rep(conf),
        profile=None if profile is None else rep(profile),
        evidence_conf=None if evidence_conf is None else rep(evidence_conf),
    )
    x0 = x0.view(B, H, *x0.shape[1:])
    if aggregate == "mean":
        pose = x0.mean(1)
    elif aggregate == "reprojection":
        err = (
            (project(x0, P.unsqueeze(1)) - u.unsqueeze(1)).norm(dim=-1).nan_to_num(0).mean((-1, -2))
        )  # (B, H)
        pose = x0[torch.arange(B), err.argmin(1)]
    else:
        raise ValueError(f"unknown aggregation {aggregate!r} (expected mean or reprojection)")
    spread_mm = (x0 - pose.unsqueeze(1)).norm(dim=-1).pow(2).mean(1).sqrt()
    pred_mm = torch.exp(log_std.view(B, H, -1)).mean(1).to(pose.dtype) * 1000.0
    return SampleResult(pose, torch.sqrt(pred_mm**2 + spread_mm**2), tri)
