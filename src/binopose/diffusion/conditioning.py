"""The conditioning contract: what the diffusion process feeds the network besides the noisy pose.

It is owned by the process (the forward process, the loss and the sampler all apply it), saved in every
model file, and passed explicitly: a network wrapped for distributed training has no config to ask.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

from binopose.errors import BinoposeError
from binopose.skeleton import LEFT_HIP, RIGHT_HIP, ROOT, root_from_hips

#: Number of 2D-evidence channels per joint: reprojection residual (u, v) in both views, confidence,
#: log relative 2D noise size of the joint (:func:`binopose.diffusion.forward.evidence_features`).
EVIDENCE_DIM = 6


@dataclass(frozen=True)
class Conditioning:
    root_from_hips: bool = (
        True  # the pelvis fed to the network is the hips' midpoint (skeleton.root_from_hips)
    )
    noise_profile: bool = True  # the evidence holds each joint's relative 2D noise size (its last channel)
    evidence_2d: bool = True  # per-joint 2D evidence at all (reprojection residuals, confidence)

    @property
    def evidence_width(self) -> int:
        """How many of the :data:`EVIDENCE_DIM` evidence channels the network reads (the first ones)."""
        return (EVIDENCE_DIM - int(not self.noise_profile)) if self.evidence_2d else 0

    def root_input(self, u: Tensor, conf: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """The root rule on (..., 2, J, 2) keypoints and (..., 2, J) confidences: with
        ``root_from_hips`` the pelvis is the hips' midpoint, as confident as the weaker hip, in the
        frames where both hips are seen in both views; elsewhere both views keep the detected pelvis
        and its confidence (one definition in both views, and a pelvis wherever the detector has one;
        before 2026-12-03 a hip missing in one view left the pelvis missing)."""
        if not self.root_from_hips:
            return u, conf
        hips = [RIGHT_HIP, LEFT_HIP]
        seen = torch.isfinite(u[..., hips, :]).all(-1)  # (..., 2, 2): view, hip
        if conf is not None:
            seen = seen & (conf[..., hips] > 0)
        whole = seen.flatten(-2).all(-1)  # (...,): both hips in both views
        out = u.clone()
        out[..., ROOT, :] = torch.where(
            whole[..., None, None], root_from_hips(u)[..., ROOT, :], u[..., ROOT, :]
        )
        if conf is not None:
            conf = conf.clone()
            conf[..., ROOT] = torch.where(whole[..., None], conf[..., hips].amin(-1), conf[..., ROOT])
        return out, conf

    def root_profile(self, profile: Tensor) -> Tensor:
        """The root rule on a per-joint noise profile (..., J): a pelvis taken from the hips is as good
        as the hips."""
        return root_from_hips(profile[..., None])[..., 0] if self.root_from_hips else profile

    @classmethod
    def from_dict(cls, data: dict) -> Conditioning:
        names = {f.name for f in fields(cls)}
        bad = [k for k, v in data.items() if k not in names or not isinstance(v, bool)]
        if bad:
            raise BinoposeError(f"conditioning: unknown key or non-boolean value {bad[0]!r}")
        return cls(**data)
