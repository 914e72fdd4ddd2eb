"""Virtual stereo rigs: place 3D poses in front of randomly sampled camera pairs (batched torch).

Every sample gets its own rig: baseline, distance, camera height, convergent or parallel (rectified)
cameras, focal length (from the person's size in pixels), skew, aspect, principal point and roll.
Poses come out in the left camera frame (mm; x right, y down, z forward), as in the benchmark files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from binopose.geometry.camera import projection_matrix
from binopose.skeleton import ROOT


@dataclass(frozen=True)
class RigConfig:
    """Ranges of the virtual rigs (lengths in metres, angles in degrees)."""

    baseline_ratio: tuple[float, float] = (0.03, 1.2)  # baseline / distance, log-uniform
    baseline_m: tuple[float, float] = (0.06, 6.0)  # clipped to this range
    distance_m: tuple[float, float] = (1.5, 9.0)  # rig centre to person, uniform
    person_height_px: tuple[float, float] = (150.0, 900.0)  # sets the focal length, log-uniform
    camera_height_m: tuple[float, float] = (-0.6, 1.4)  # cameras above the pelvis
    lateral_fraction: float = 0.2  # person offset from the rig axis, fraction of the distance
    converge_prob: float = 0.5  # else parallel (rectified) cameras
    max_skew: float = 0.003  # |s| / fx
    max_aspect: float = 0.01  # |fx / fy - 1|
    focal_mismatch: float = 0.02  # right focal / left focal - 1
    max_roll_deg: float = 3.0
    max_principal_offset_px: float = 60.0
    yaw: bool = True  # random rotation of the person about the vertical axis


@dataclass(frozen=True)
class Scene:
    """A batch of posed people and their rigs (left camera frame, mm)."""

    X: Tensor  # (B, J, 3) clean 3D
    P: Tensor  # (B, 2, 3, 4)
    K: Tensor  # (B, 2, 3, 3)
    baseline: Tensor  # (B,)


def _uniform(gen: torch.Generator, n: int, lo: float, hi: float, log: bool = False) -> Tensor:
    u = torch.rand(n, generator=gen, dtype=torch.float64, device=gen.device)
    if log:
        return torch.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
    return lo + u * (hi - lo)


def _look_rotation(forward: Tensor, roll: Tensor) -> Tensor:
    """World->camera rotations (B, 3, 3) for cameras looking along ``forward`` (y down), rolled."""
    z = forward / forward.norm(dim=-1, keepdim=True)
    down = torch.zeros_like(z)
    down[:, 1] = 1.0
    x = torch.linalg.cross(down, z)
    x = x / x.norm(dim=-1, keepdim=True)
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z], dim=1)
    c, s = torch.cos(roll), torch.sin(roll)
    Rz = torch.zeros_like(R)
    Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = c, -s, s, c, 1.0
    return Rz @ R


def _intrinsics(gen: torch.Generator, f: Tensor, cfg: RigConfig) -> Tensor:
    n = f.shape[0]
    K = torch.zeros(n, 3, 3, dtype=torch.float64, device=f.device)
    K[:, 0, 0] = f * (1 + _uniform(gen, n, -cfg.max_aspect, cfg.max_aspect))
    K[:, 1, 1] = f
    K[:, 0, 1] = f * _uniform(gen, n, -cfg.max_skew, cfg.max_skew)
    K[:, 0, 2] = 500 + _uniform(gen, n, -cfg.max_principal_offset_px, cfg.max_principal_offset_px)
    K[:, 1, 2] = 500 + _uniform(gen, n, -cfg.max_principal_offset_px, cfg.max_principal_offset_px)
    K[:, 2, 2] = 1.0
    return K


def sample_scene(poses_world: Tensor, cfg: RigConfig, gen: torch.Generator) -> Scene:
    """Put world poses (B, J, 3) (mm, z up) in front of B random stereo rigs.

    Returns a :class:`Scene` in float64 with the poses in the left camera frame.
    """
    B = poses_world.shape[0]
    X = poses_world.double() - poses_world[:, ROOT : ROOT + 1].double()
    if cfg.yaw:
        a = _uniform(gen, B, 0.0, 2 * math.pi)
        c, s = torch.cos(a), torch.sin(a)
        x, y = X[..., 0], X[..., 1]
        X = torch.stack([c[:, None] * x - s[:, None] * y, s[:, None] * x + c[:, None] * y, X[..., 2]], -1)
    # world (z up) -> rig frame (x right, y down, z forward): (x, y, z) -> (x, -z, y)
    X = torch.stack([X[..., 0], -X[..., 2], X[..., 1]], -1)
    dist = _uniform(gen, B, *cfg.distance_m) * 1000
    ratio = _uniform(gen, B, *cfg.baseline_ratio, log=True)
    baseline = (ratio * dist).clamp(cfg.baseline_m[0] * 1000, cfg.baseline_m[1] * 1000)
    height = _uniform(gen, B, *cfg.camera_height_m) * 1000
    lateral = _uniform(gen, B, -cfg.lateral_fraction, cfg.lateral_fraction) * dist
    target = torch.stack([lateral, height, dist], -1)  # pelvis in the rig frame (y down: below = +)
    X = X + target[:, None]
    centers = torch.zeros(B, 2, 3, dtype=torch.float64, device=X.device)
    centers[:, 0, 0], centers[:, 1, 0] = -baseline / 2, baseline / 2
    aim = torch.stack([torch.zeros_like(dist), height, dist], -1)
    converge = torch.rand(B, generator=gen, device=X.device) < cfg.converge_prob
    roll_max = math.radians(cfg.max_roll_deg)
    roll_l = _uniform(gen, B, -roll_max, roll_max)
    roll_r = torch.where(converge, _uniform(gen, B, -roll_max, roll_max), roll_l)  # parallel: rectified pair
    fwd_par = aim.clone()
    fwd_par[:, 0] = 0.0
    R_l, R_r = (
        _look_rotation(torch.where(converge[:, None], aim - centers[:, v], fwd_par), roll)
        for v, roll in ((0, roll_l), (1, roll_r))
    )
    X_left = (X - centers[:, None, 0]) @ R_l.transpose(1, 2)
    R_rl = R_r @ R_l.transpose(1, 2)
    t_rl = (R_r @ (centers[:, 0] - centers[:, 1]).unsqueeze(-1)).squeeze(-1)
    # a rolled parallel pair is rectified only with the right camera on the left one's (rolled) x axis
    t_par = torch.stack([-baseline, torch.zeros_like(baseline), torch.zeros_like(baseline)], -1)
    t_rl = torch.where(converge[:, None], t_rl, t_par)
    f = _uniform(gen, B, *cfg.person_height_px, log=True) * X_left[:, ROOT, 2] / 1700.0
    K_l = _intrinsics(gen, f, cfg)
    K_r = _intrinsics(gen, f * (1 + _uniform(gen, B, -cfg.focal_mismatch, cfg.focal_mismatch)), cfg)
    rectified = ~converge
    K_r[rectified, 1] = K_l[rectified, 1]  # same rows: v_left = v_right
    K = torch.stack([K_l, K_r], 1)
    eye = torch.eye(3, dtype=torch.float64, device=X.device).expand(B, 3, 3)
    P = projection_matrix(K, torch.stack([eye, R_rl], 1), torch.stack([torch.zeros_like(t_rl), t_rl], 1))
    return Scene(X_left, P, K, baseline)
