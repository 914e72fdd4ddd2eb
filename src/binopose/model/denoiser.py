"""The Dual-Diffusion denoiser: noisy triangulated 3D pose -> clean 3D pose (+ per-joint uncertainty).

Graph convolution + multi-head attention over the 17 joints, conditioned (FiLM) on the noise level,
on the root's depth in the camera frame (Z-embedding) and on the baseline. Before the network, the
pose is centred on its centroid (the network may move the root) and, with BaseL normalisation, its
depth axis is multiplied by ``baseline / depth``: stereo depth noise is ``depth / baseline`` times
the lateral noise, so this makes the noise about isotropic on any rig.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from binopose.errors import BinoposeError
from binopose.geometry.stereo import depth_gain
from binopose.model.graph import Block, sinusoidal
from binopose.skeleton import NUM_JOINTS

#: the confidence channel of the evidence (residuals first, the noise profile last)
_CONF_CHANNEL = 4


@dataclass(frozen=True)
class DenoiserConfig:
    dim: int = 64
    depth: int = 4
    heads: int = 4
    cond_dim: int = 128
    dropout: float = 0.0
    z_embedding: bool = True  # condition on the root depth (camera frame)
    basel_norm: bool = True  # scale depth by baseline / depth, condition on the baseline
    # > 0: the predicted correction is scaled by sigma / (sigma + out_level), so that it vanishes with the
    # noise level and a nearly clean input is returned nearly unchanged (0: unscaled, as models before v7)
    out_level: float = 0.0


class Denoiser(nn.Module):
    """``evidence_width``: how many per-joint 2D-evidence channels the network reads (the first ones of
    what it is fed; the diffusion process's ``Conditioning.evidence_width``; 0: none)."""

    def __init__(self, cfg: DenoiserConfig, evidence_width: int = 6) -> None:
        super().__init__()
        if not cfg.out_level >= 0:
            raise BinoposeError(f"model.out_level must be 0 or more, got {cfg.out_level}")
        self.cfg = cfg
        n_cond = 1 + int(cfg.z_embedding) + int(cfg.basel_norm)
        emb = 32
        self.cond = nn.Sequential(
            nn.Linear(n_cond * emb, cfg.cond_dim), nn.SiLU(), nn.Linear(cfg.cond_dim, cfg.cond_dim)
        )
        self.emb_dim = emb
        if not 0 <= evidence_width <= 64:
            raise BinoposeError(f"evidence width must be 0 to 64 channels, got {evidence_width}")
        self.n_evidence = evidence_width
        self.inp = nn.Linear(3 + self.n_evidence, cfg.dim)
        self.joint_emb = nn.Parameter(torch.zeros(NUM_JOINTS, cfg.dim))
        self.blocks = nn.ModuleList(
            Block(cfg.dim, cfg.heads, cfg.cond_dim, cfg.dropout) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.dim)
        self.out = nn.Linear(cfg.dim, 4)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.joint_emb, std=0.02)

    def _depth_gain(self, center_z: Tensor, baseline: Tensor) -> Tensor:
        if not self.cfg.basel_norm:
            return torch.ones_like(center_z)
        return depth_gain(center_z, baseline)

    def forward(
        self, X: Tensor, sigma: Tensor, baseline: Tensor, evidence: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Predict the clean pose.

        Args:
            X: (B, J, 3) noisy triangulated pose, left camera frame, mm (no NaN).
            sigma: (B,) noise level (units of the 2D error model). baseline: (B,) mm.
            evidence: (B, J, >= evidence_width) 2D evidence (the diffusion process's), or None.
        Returns:
            x0: (B, J, 3) clean pose (mm, same frame); log_std: (B, J) log of the expected error (m).
        """
        center = X.mean(1, keepdim=True)
        cz = center[:, 0, 2].clamp_min(100.0)
        gain = self._depth_gain(cz, baseline.to(X.dtype))
        scale = torch.stack([torch.ones_like(gain), torch.ones_like(gain), gain], -1).unsqueeze(1) / 1000.0
        rel = (X - center) * scale
        feats = [rel]
        if self.n_evidence:
            ev = evidence if evidence is not None else _no_evidence(X, self.n_evidence)
            feats.append(ev[..., : self.n_evidence])
        conds = [sinusoidal(torch.log(sigma.float() + 1e-3) / 4, self.emb_dim)]
        if self.cfg.z_embedding:
            conds.append(sinusoidal(torch.log(cz.float() / 1000.0) / 4, self.emb_dim))
        if self.cfg.basel_norm:
            conds.append(sinusoidal(torch.log(baseline.float() / 1000.0) / 4, self.emb_dim))
        cond = self.cond(torch.cat(conds, -1))
        h = self.inp(torch.cat(feats, -1).float()) + self.joint_emb
        for block in self.blocks:
            h = block(h, cond)
        out = self.out(self.norm(h))
        step = out[..., :3].to(X.dtype)
        if self.cfg.out_level > 0:
            s = sigma.to(X.dtype)[:, None, None]
            step = step * (s / (s + self.cfg.out_level))
        x0 = (rel + step) / scale + center
        return x0, out[..., 3] + math.log(0.03)


def _no_evidence(X: Tensor, width: int) -> Tensor:
    e = torch.zeros(*X.shape[:-1], width, dtype=X.dtype, device=X.device)
    if width > _CONF_CHANNEL:
        e[..., _CONF_CHANNEL] = 1.0  # confidence 1, residuals 0, log noise profile 0
    return e


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
