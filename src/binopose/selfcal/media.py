"""Glue between videos and self-calibration / synchronisation: detect the person in both videos frame by
frame (no offset), find the offset, return synchronised keypoints; undistort keypoints for a camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from binopose.geometry.camera import undistort_points
from binopose.geometry.rig import Camera, StereoRig
from binopose.selfcal.sync import SyncResult, find_offset


def undistort(kp: np.ndarray, cam: Camera) -> np.ndarray:
    """(..., J, 2) distorted pixels -> ideal pinhole pixels of ``cam`` (unchanged if it has no distortion)."""
    if not np.any(cam.dist):
        return np.asarray(kp, np.float64)
    return undistort_points(
        torch.tensor(kp, dtype=torch.float64), torch.tensor(cam.K), torch.tensor(cam.dist)
    ).numpy()


def detect_videos(
    left: str | Path,
    right: str | Path,
    max_frames: int | None = None,
    progress: bool = True,
    rig: StereoRig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe joints of every frame pair at offset 0: (N, 2, 17, 2) pixels and (N, 2, 17) confidences.
    The two media must differ; with ``rig``, their image sizes are checked against it first."""
    from binopose.video.detect import make_detector
    from binopose.video.media import open_media
    from binopose.video.pair_detection import check_distinct, check_sizes, detect_pair

    src_l, src_r = open_media(left, None), open_media(right, None)
    check_distinct(src_l, src_r)  # one video given twice cannot be calibrated or synchronised
    if rig is not None:
        check_sizes(src_l, src_r, rig)
    dets = (make_detector(), make_detector())
    try:
        kp, _ = detect_pair(src_l, src_r, dets, 0, max_frames, None, False, progress=progress)
    finally:
        for d in dets:
            getattr(d, "close", lambda: None)()
    return kp.kp2d, kp.conf


def synchronise(
    kp: np.ndarray,
    conf: np.ndarray | None,
    max_offset: int,
    rig: StereoRig | None = None,
    K: np.ndarray | None = None,
) -> tuple[SyncResult, np.ndarray, np.ndarray | None]:
    """Find the right view's offset in (N, 2, 17, 2) keypoints recorded at offset 0 and re-pair the frames
    so that row i holds simultaneous frames (left i + max(0, -offset), right i + max(0, offset)).
    Without a rig, intrinsics K (2, 3, 3) allow an essential matrix instead of a fundamental matrix."""
    cl, cr = (None, None) if conf is None else (conf[:, 0], conf[:, 1])
    res = find_offset(kp[:, 0], kp[:, 1], max_offset, rig, cl, cr, K=K)
    n = res.offset
    ls, rs = max(0, -n), max(0, n)
    m = min(len(kp) - ls, len(kp) - rs)
    kp2 = np.stack([kp[ls : ls + m, 0], kp[rs : rs + m, 1]], 1)
    conf2 = None if conf is None else np.stack([conf[ls : ls + m, 0], conf[rs : rs + m, 1]], 1)
    return res, kp2, conf2


def auto_offset(
    left: str | Path,
    right: str | Path,
    rig: StereoRig,
    frames: int = 300,
    max_offset: int = 30,
    progress: bool = True,
) -> SyncResult:
    """Detect the first ``frames`` frames of both videos and find the offset with the rig's epipolar geometry."""
    kp, conf = detect_videos(left, right, frames, progress, rig)
    kp = np.stack([undistort(kp[:, 0], rig.left), undistort(kp[:, 1], rig.right)], 1)
    return synchronise(kp, conf, min(max_offset, max(1, len(kp) // 3)), rig)[0]
