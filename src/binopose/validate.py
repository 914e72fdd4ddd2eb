"""Validation during training: held-out poses on virtual rigs, each 2D error model at sigma = 1."""

from __future__ import annotations

import torch

from binopose.data.noise import sample_errors
from binopose.diffusion.forward import hip_root_profile
from binopose.diffusion.sampling import refine_2d
from binopose.diffusion.schedule import Schedule
from binopose.geometry import triangulate
from binopose.model import Denoiser
from binopose.skeleton import root_from_hips


@torch.no_grad()
def validation_mpjpe(net: Denoiser, val: dict, schedule: Schedule) -> dict[str, float]:
    """MPJPE (mm) of plain triangulation and of one-step refinement, per error model."""
    net.eval()
    b = val["batch"]
    out = {}
    for m in val["models"]:
        gen = torch.Generator().manual_seed(val["gen_seed"])
        e = sample_errors(m, b.scale_px.cpu(), torch.ones(b.X.shape[0]), gen, with_bias=False).to(b.u.device)
        u = b.u + e.double()
        tri = triangulate(u, b.P)
        profile = torch.from_numpy(m.joint_profile())
        if net.cfg.root_from_hips:  # as the refiner does
            u = root_from_hips(u)
            profile = hip_root_profile(profile)
        ok = torch.isfinite(tri).all(-1).all(-1)

        def denoise(X, s, B, ev):
            x0, ls = net(X.float(), s.float(), B.float(), ev.float())
            return x0.double(), ls

        res = refine_2d(
            denoise,
            u[ok],
            b.P[ok],
            b.baseline[ok],
            b.scale_px[ok],
            schedule.sampling_sigmas(1.0, 1),
            error_model=m,
            profile=profile,
        )
        gt = b.X[ok]
        out[f"tri/{m.name}"] = float((tri[ok] - gt).norm(dim=-1).mean())
        out[f"dd/{m.name}"] = float((res.poses - gt).norm(dim=-1).mean())
    return out
