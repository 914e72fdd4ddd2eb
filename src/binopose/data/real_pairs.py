"""Real (detector output, ground truth) pairs of a development file, mixed into training batches.

Synthetic 2D noise only approximates a real detector: its biases, its joint definitions and the way
its errors hang together across joints are learnt best from its own output. A development file in the
``*_stereo_test.npz`` format with 3D ground truth (e.g. Human3.6M Stacked-Hourglass detections of the
training subjects) provides such pairs; the subjects listed are used and every other one is left out
(never a test file, never a held-out subject).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from binopose.data.benchmark import load_benchmark
from binopose.data.noise import ErrorModel2D, fit_error_model, pose_scale_px
from binopose.data.presets import PER_VIEW
from binopose.data.synth import CleanBatch
from binopose.errors import BinoposeError


@dataclass(frozen=True)
class RealPairsConfig:
    path: str = ""  # a development file with kp3d_gt (empty: no real pairs)
    subjects: list[str] = field(default_factory=list)
    fraction: float = 0.0  # share of each training batch
    family: str = PER_VIEW  # the error model family whose level and profile they are matched to
    level_jitter: float = 0.0  # spread (log scale) of a random factor on their level, per sample


@dataclass(frozen=True)
class RealPairs:
    kp2d: Tensor  # (n, 2, J, 2) detector output, px
    clean: CleanBatch  # ground truth 3D, projection matrices, clean 2D, person size, baseline
    sigma: float  # noise level of the detector's per-joint error, relative to the family
    profile: Tensor  # (J,) its per-joint profile

    def __len__(self) -> int:
        return int(self.kp2d.shape[0])

    def take(self, idx: Tensor) -> tuple[Tensor, CleanBatch]:
        return self.kp2d[idx], self.clean.take(idx)

    def to(self, device: torch.device | str) -> RealPairs:
        return RealPairs(self.kp2d.to(device), self.clean.to(device), self.sigma, self.profile.to(device))


def load_real_pairs(cfg: RealPairsConfig, family: ErrorModel2D) -> RealPairs | None:
    """The configured pairs (None when ``cfg.path`` is empty or ``cfg.fraction`` is 0)."""
    if not cfg.path or cfg.fraction <= 0:
        return None
    bench = load_benchmark(cfg.path)
    if bench.kp3d_gt is None or bench.kp2d_gt is None:
        raise BinoposeError(f"real_pairs.path {cfg.path}: the file has no kp3d_gt / kp2d_gt to learn from")
    sel = np.isin(bench.subject, cfg.subjects)
    ok = sel & np.isfinite(bench.kp2d_pred).all((1, 2, 3)) & np.isfinite(bench.kp3d_gt).all((1, 2))
    if ok.sum() < 10:  # the least an error model can be fitted on
        raise BinoposeError(
            f"real_pairs.path {cfg.path}: {int(ok.sum())} usable frames of subjects {cfg.subjects}"
        )
    b = bench.subset(np.flatnonzero(ok))
    fitted = fit_error_model(b.kp2d_pred, b.kp2d_gt)
    u_gt = torch.from_numpy(b.kp2d_gt.astype(np.float64))
    clean = CleanBatch(
        torch.from_numpy(b.kp3d_gt.astype(np.float64)),
        b.projection_matrices(),
        u_gt,
        pose_scale_px(u_gt),
        torch.from_numpy(np.asarray(b.baseline_mm, np.float64)),
    )
    return RealPairs(
        torch.from_numpy(b.kp2d_pred.astype(np.float64)),
        clean,
        fitted.joint_rms() / family.joint_rms(),
        torch.from_numpy(fitted.joint_profile()),
    )
