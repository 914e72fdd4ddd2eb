"""Synthetic poses, rigs, corpora and tiny models for the tests: nothing here reads ../shared data.

Poses are plausible 17-joint skeletons (canonical order, mm): a standing template whose bones are
turned by random angles, so that bone lengths stay those of a person and every pose differs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from binopose.data.noise import ErrorModel2D
from binopose.geometry import project
from binopose.model import DenoiserConfig
from binopose.skeleton import NUM_JOINTS, PARENTS, ROOT

#: standing person, root-relative, world frame (x to the person's left, y forward, z up), mm
TEMPLATE = np.array(
    [
        [-130, 0, -880],  # 0 right_ankle
        [-130, 0, -450],  # 1 right_knee
        [-130, 0, 0],  # 2 right_hip
        [130, 0, 0],  # 3 left_hip
        [130, 0, -450],  # 4 left_knee
        [130, 0, -880],  # 5 left_ankle
        [0, 0, 0],  # 6 pelvis
        [0, 0, 230],  # 7 spine
        [0, 0, 480],  # 8 thorax
        [0, -20, 700],  # 9 head
        [-170, 0, -60],  # 10 right_wrist
        [-170, 0, 180],  # 11 right_elbow
        [-170, 0, 450],  # 12 right_shoulder
        [170, 0, 450],  # 13 left_shoulder
        [170, 0, 180],  # 14 left_elbow
        [170, 0, -60],  # 15 left_wrist
        [0, -30, 580],  # 16 neck_nose
    ],
    dtype=np.float64,
)


def _topological_order() -> list[int]:
    order, seen = [ROOT], {ROOT}
    while len(order) < NUM_JOINTS:
        for j, p in enumerate(PARENTS):
            if j not in seen and p in seen:
                order.append(j)
                seen.add(j)
    return order


def _rotations(rng: np.random.Generator, n: int, max_angle: float) -> np.ndarray:
    """(n, 3, 3) rotations about random axes by angles uniform in [0, max_angle] (radians)."""
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    a = rng.uniform(0, max_angle, size=(n, 1, 1))
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def random_poses(n: int, seed: int = 0, max_angle_deg: float = 40.0) -> np.ndarray:
    """(n, 17, 3) world poses (mm, z up, pelvis 1 m above the floor) with random limb angles."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, NUM_JOINTS, 3))
    X[:, ROOT] = [0.0, 0.0, 1000.0]
    for j in _topological_order()[1:]:
        p = PARENTS[j]
        bone = TEMPLATE[j] - TEMPLATE[p]
        X[:, j] = X[:, p] + np.einsum("nij,j->ni", _rotations(rng, n, np.radians(max_angle_deg)), bone)
    return X


def camera_frame_poses(n: int, depth_mm: float = 4000.0, seed: int = 0) -> torch.Tensor:
    """(n, 17, 3) float64 poses in a camera frame (x right, y down, z forward), pelvis at ``depth_mm``."""
    W = random_poses(n, seed)
    W = W - W[:, ROOT : ROOT + 1]
    X = np.stack([W[..., 0], -W[..., 2], W[..., 1]], -1) + np.array([0.0, 0.0, depth_mm])
    return torch.from_numpy(X)


def rectified_P(n: int, baseline_mm: float = 300.0, f: float = 1000.0, c: float = 500.0) -> torch.Tensor:
    """(n, 2, 3, 4) float64 projection matrices of a rectified pair (left camera frame, mm)."""
    K = torch.tensor([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]], dtype=torch.float64)
    Rt = torch.zeros(2, 3, 4, dtype=torch.float64)
    Rt[:, :, :3] = torch.eye(3, dtype=torch.float64)
    Rt[1, 0, 3] = -baseline_mm
    return (K @ Rt).expand(n, 2, 3, 4).clone()


def convergent_P(
    n: int, baseline_mm: float = 800.0, depth_mm: float = 4000.0, f: float = 1200.0
) -> torch.Tensor:
    """(n, 2, 3, 4) float64 projection matrices of a pair whose right camera turns towards ``depth_mm``."""
    a = float(np.arctan2(baseline_mm, depth_mm))
    R = torch.tensor([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    R = R.double()
    t = -R @ torch.tensor([baseline_mm, 0.0, 0.0], dtype=torch.float64)
    K = torch.tensor([[f, 0.5, 640.0], [0.0, f * 1.01, 360.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    P = torch.stack(
        [K @ torch.cat([torch.eye(3, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64)], 1)]
        + [K @ torch.cat([R, t[:, None]], 1)]
    )
    return P.expand(n, 2, 3, 4).clone()


def stereo_views(
    n: int, seed: int = 0, depth_mm: float = 4000.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clean poses in front of a convergent pair: (X (n, 17, 3), P (n, 2, 3, 4), u (n, 2, 17, 2))."""
    X = camera_frame_poses(n, depth_mm, seed)
    P = convergent_P(n, depth_mm=depth_mm)
    return X, P, project(X, P)


def write_corpus(
    path: Path, n: int = 200, subjects: tuple[str, ...] = ("S1", "S5", "S8"), seed: int = 0
) -> Path:
    """A tiny pose corpus npz (``kp3d_world_mm``, ``subject``) in the format ``load_corpus`` reads."""
    poses = random_poses(n, seed).astype(np.float32)
    subject = np.array([subjects[i % len(subjects)] for i in range(n)])
    np.savez(path, kp3d_world_mm=poses, subject=subject)
    return path


def write_tiny_bench(path: Path, K: np.ndarray, nan_pred_frames: int = 0) -> Path:
    """A 4-frame benchmark file (subjects S9, S9, S11, S11; a 300 mm rectified pair with intrinsics K)
    whose predictions are the exact projections, except the first ``nan_pred_frames`` frames (NaN)."""
    n = 4
    X = np.random.default_rng(0).normal(0, 200, (n, 17, 3)) + [0, 0, 3000]
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-300, 0, 0]]]))
    uv = project(torch.tensor(X), P).numpy()
    pred = uv.copy()
    pred[:nan_pred_frames] = np.nan  # subject S9 without any estimate: its metrics are NaN
    np.savez(
        path,
        kp2d_pred=pred.astype(np.float32),
        kp2d_gt=uv.astype(np.float32),
        kp3d_gt=X,
        K=np.broadcast_to(K, (n, 2, 3, 3)),
        R_right_from_left=np.broadcast_to(np.eye(3), (n, 3, 3)),
        t_right_from_left_mm=np.tile([-300.0, 0, 0], (n, 1)),
        subject=np.array(["S9", "S9", "S11", "S11"]),
        action=np.array(["a"] * n),
    )
    return path


def tiny_model_config(**overrides: object) -> DenoiserConfig:
    base = {"dim": 16, "depth": 1, "heads": 2, "cond_dim": 16}
    return DenoiserConfig(**{**base, **overrides})  # type: ignore[arg-type]


def per_view_noise(sigma: float = 0.01) -> ErrorModel2D:
    """Independent Gaussian noise per view, ``sigma`` times the person's size, no tails or swaps."""
    return ErrorModel2D("per-view", indep_sigma=np.full((2, NUM_JOINTS, 2), sigma).tolist())


def oracle(X0: torch.Tensor):
    """A denoiser that knows the answer: returns the clean pose (repeated for hypotheses)."""

    def denoise(X: torch.Tensor, sigma: torch.Tensor, baseline: torch.Tensor, ev: torch.Tensor):
        reps = X.shape[0] // X0.shape[0]
        x0 = X0.repeat_interleave(reps, 0).to(X.dtype)
        return x0, torch.zeros(X.shape[:2], dtype=torch.float32)

    return denoise
