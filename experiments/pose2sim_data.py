"""The Pose2Sim 4-camera capture for the experiments: loading, undistortion, projection, leave-out views.

Conventions: cameras in file order (cam01..cam04), world frame of the calibration in mm, 2D keypoints
(C, F, 17, 2) in each camera's distorted pixels as MediaPipe gives them, confidences (C, F, 17).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.camera import distort_points, undistort_points
from binopose.geometry.rig import Camera, load_cameras

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "pose2sim_demo"
RESULTS = ROOT / "experiments" / "results"


@dataclass(frozen=True)
class Capture:
    names: list[str]
    cams: list[Camera]
    kp: np.ndarray  # (C, F, J, 2) distorted pixels (left/right flips repaired)
    conf: np.ndarray  # (C, F, J) detector confidence
    ref_world: np.ndarray  # (F, J, 3) the 4-view reference, world mm
    lr_flipped: np.ndarray  # (C, video frames) bool: frames whose left/right labels were swapped back


def load_capture(data: Path) -> Capture:
    """Read ``reference_4view.npz`` and ``calibration_opencv.toml`` from ``data``."""
    npz, toml = data / "reference_4view.npz", data / "calibration_opencv.toml"
    for p in (npz, toml):
        if not p.is_file():
            raise BinoposeError(f"Pose2Sim data not found: {p} (see ../shared/data/pose2sim_demo/README.md)")
    d = np.load(npz)
    names = [str(n) for n in d["camera_names"]]
    cams = load_cameras(toml)
    if [c.name for c in cams] != names:
        raise BinoposeError(f"{toml}: cameras {[c.name for c in cams]} do not match {names}")
    k = np.asarray(d["kp2d_h36m17_synced"], np.float64)
    return Capture(names, cams, k[..., :2], k[..., 2], np.asarray(d["kp3d_ref_4view_mm"]), d["lr_flipped"])


def world_P(cams: list[Camera]) -> torch.Tensor:
    """(C, 3, 4) float64 projection matrices in the world frame (mm)."""
    return torch.tensor(np.stack([c.P for c in cams]), dtype=torch.float64)


def _intrinsics(cams: list[Camera]) -> tuple[torch.Tensor, torch.Tensor]:
    K = torch.tensor(np.stack([c.K for c in cams]), dtype=torch.float64)
    return K, torch.tensor(np.stack([c.dist for c in cams]), dtype=torch.float64)


def undistort_views(kp: np.ndarray, cams: list[Camera]) -> np.ndarray:
    """(C, F, J, 2) distorted pixels -> ideal pinhole pixels of the same cameras."""
    K, dist = _intrinsics(cams)
    uv = torch.as_tensor(kp, dtype=torch.float64)
    return undistort_points(uv.flatten(1, 2), K, dist).reshape(uv.shape).numpy()


def distort_views(uv: np.ndarray, cams: list[Camera]) -> np.ndarray:
    """(C, F, J, 2) ideal pixels -> distorted pixels of the same cameras."""
    K, dist = _intrinsics(cams)
    t = torch.as_tensor(uv, dtype=torch.float64)
    return distort_points(t.flatten(1, 2), K, dist).reshape(t.shape).numpy()


def project_views(X: np.ndarray, cams: list[Camera]) -> np.ndarray:
    """(F, J, 3) world mm -> (C, F, J, 2) distorted pixels in each camera."""
    uv = project(torch.as_tensor(X, dtype=torch.float64), world_P(cams)).numpy()  # (F, C, J, 2)
    return distort_views(uv.transpose(1, 0, 2, 3), cams)


def triangulate_views(uv: np.ndarray, conf: np.ndarray | None, cams: list[Camera]) -> np.ndarray:
    """Confidence-weighted DLT of ideal pixels (V, F, J, 2) from the given cameras -> (F, J, 3) world mm."""
    u = torch.as_tensor(uv.transpose(1, 0, 2, 3))
    c = None if conf is None else torch.as_tensor(conf.transpose(1, 0, 2))
    return triangulate(u, world_P(cams), c).numpy()
