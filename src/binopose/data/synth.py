"""Clean training batches, generated on the fly: corpus poses, augmented, in front of virtual rigs.

Augmentation: mirroring with a left/right swap, bone-length scaling (global and per bone, through
the kinematic tree as one matrix product), rotation about the vertical axis (in the rig sampler).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from binopose.data.noise import pose_scale_px
from binopose.data.rigs import RigConfig, sample_scene
from binopose.geometry import project
from binopose.skeleton import BONES, DEFINITION_JOINTS, NUM_JOINTS, PARENTS, ROOT, flip_permutation


@dataclass(frozen=True)
class AugmentConfig:
    mirror_prob: float = 0.5
    global_scale: tuple[float, float] = (0.85, 1.15)
    bone_scale: float = 0.08  # each bone (left and right alike) scaled by U(1 - b, 1 + b)
    # bones whose length depends on how a dataset or detector *defines* its joints (hip width, spine,
    # neck, head, shoulders) get a wider, log-uniform scale, so the prior does not impose one definition
    definition_scale: tuple[float, float] = (1.0, 1.0)
    # and the same joints (but the hips) move by a random offset (mm, per axis): where a detector puts
    # its "head" or "shoulder" is a convention the prior should keep from the input, not impose
    definition_offset_mm: float = 0.0


@dataclass(frozen=True)
class CleanBatch:
    X: Tensor  # (B, J, 3) left camera frame, mm
    P: Tensor  # (B, 2, 3, 4)
    u: Tensor  # (B, 2, J, 2) clean projections
    scale_px: Tensor  # (B, 2) person size per view
    baseline: Tensor  # (B,) mm

    def take(self, idx: Tensor) -> CleanBatch:
        """The samples ``idx`` (an index or mask along the batch)."""
        return CleanBatch(*(t[idx] for t in (self.X, self.P, self.u, self.scale_px, self.baseline)))

    def to(self, device: torch.device | str) -> CleanBatch:
        return CleanBatch(*(t.to(device) for t in (self.X, self.P, self.u, self.scale_px, self.baseline)))


def _path_matrix() -> Tensor:
    """(J, 16): entry (j, b) is 1 when bone b lies on the path from the root to joint j."""
    M = np.zeros((NUM_JOINTS, len(BONES)), np.float32)
    child_to_bone = {c: i for i, (c, _) in enumerate(BONES)}
    for j in range(NUM_JOINTS):
        k = j
        while k != ROOT:
            M[j, child_to_bone[k]] = 1.0
            k = PARENTS[k]
    return torch.from_numpy(M)


_PATH = _path_matrix()
_CHILD, _PARENT = (torch.tensor(x) for x in zip(*BONES))
_FLIP = torch.as_tensor(flip_permutation())
# a bone is named by its child joint; mirrored bones share one random scale (the smaller child index)
_BONE_GROUP = torch.minimum(_CHILD, _FLIP[_CHILD])
# bones named by their child joint: hips, spine, thorax, head, shoulders, neck_nose
_DEFINITION_JOINT = torch.zeros(NUM_JOINTS, dtype=torch.bool)
_DEFINITION_JOINT[list(DEFINITION_JOINTS)] = True
_OFFSET_JOINT = _DEFINITION_JOINT.clone()
_OFFSET_JOINT[[2, 3]] = False  # the hips define the root (skeleton.root_from_hips)


def augment(poses: Tensor, cfg: AugmentConfig, gen: torch.Generator) -> Tensor:
    """Mirror and rescale world poses (B, J, 3), z up; returns root-centred poses."""
    B = poses.shape[0]
    X = poses - poses[:, ROOT : ROOT + 1]
    dev = X.device
    mirror = torch.rand(B, generator=gen, device=dev) < cfg.mirror_prob
    Xm = X[:, _FLIP] * torch.tensor([-1.0, 1.0, 1.0], dtype=X.dtype, device=dev)
    X = torch.where(mirror[:, None, None], Xm, X)
    bones = X[:, _CHILD] - X[:, _PARENT]  # (B, 16, 3)
    g = cfg.global_scale[0] + torch.rand(B, 1, generator=gen, device=dev) * (
        cfg.global_scale[1] - cfg.global_scale[0]
    )
    per = 1 + (torch.rand(B, NUM_JOINTS, generator=gen, device=dev) * 2 - 1) * cfg.bone_scale
    lo, hi = np.log(cfg.definition_scale[0]), np.log(cfg.definition_scale[1])
    wide = torch.exp(lo + torch.rand(B, NUM_JOINTS, generator=gen, device=dev) * (hi - lo))
    per = torch.where(_DEFINITION_JOINT.to(dev), per * wide, per)
    s = (g * per[:, _BONE_GROUP]).to(X.dtype)
    scaled = (bones * s[..., None]).permute(1, 0, 2).reshape(len(BONES), -1)  # one (J, 16) x (16, 3B) product
    X = (_PATH.to(X) @ scaled).view(NUM_JOINTS, B, 3).permute(1, 0, 2)
    if cfg.definition_offset_mm > 0:
        off = (
            torch.randn(B, NUM_JOINTS, 3, generator=gen, dtype=X.dtype, device=dev) * cfg.definition_offset_mm
        )
        X = X + off * _OFFSET_JOINT[:, None].to(X)
    return X


def make_batch(poses: Tensor, rig: RigConfig, aug: AugmentConfig, gen: torch.Generator) -> CleanBatch:
    """Augment world poses (B, J, 3), place each in front of a random rig and project it."""
    scene = sample_scene(augment(poses.double(), aug, gen), rig, gen)
    u = project(scene.X, scene.P)
    return CleanBatch(scene.X, scene.P, u, pose_scale_px(u), scene.baseline)
