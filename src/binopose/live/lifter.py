"""One frame pair -> one 3D pose: detect in both views (optionally on downscaled images), undistort,
repair left/right swaps, triangulate, refine (optional) and smooth causally (One-Euro)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry.camera import project
from binopose.geometry.rig import StereoRig
from binopose.guard import RunningEvidence
from binopose.io import Keypoints2D
from binopose.live.sources import Frame
from binopose.smoothing import OneEuro
from binopose.video.detect import Detector
from binopose.video.pipeline import LiftConfig, lift, load_refiner


@dataclass(frozen=True)
class LiveConfig:
    lift: LiftConfig = LiftConfig(refine=True, smooth="oneeuro")  # "none" or "oneeuro" (causal here)
    det_scale: float = 1.0  # images are resized by this factor before detection (0 < s <= 1)
    fps: float = 30.0  # nominal rate: the One-Euro filter's default frame gap
    parallel: bool = False  # detect the right view on a second thread while the left one is detected
    # judge each frame's refinement with the recording's evidence so far (False: each frame alone,
    # which returns triangulation; rule of 2026-12-03 16:03 UTC, docs/LIVE.md)
    running_evidence: bool = True


@dataclass(frozen=True)
class LivePose:
    left_seq: int
    right_seq: int
    t: float  # capture time of the pair (the left frame's), seconds on the live clock
    t_host: float  # when the left frame reached the process (latency is measured from here)
    kp2d: np.ndarray  # (2, 17, 2) camera pixels (NaN: not detected)
    conf2d: np.ndarray  # (2, 17)
    pose: np.ndarray  # (17, 3) mm, left camera frame, smoothed if asked (NaN: not triangulated)
    conf: np.ndarray  # (17,) the smaller of the two views' confidences
    lr_swapped: bool


def detect_scaled(det: Detector, image: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Detect on the image resized by ``scale``; keypoints in the full image's pixels."""
    if scale == 1.0:
        return det.detect(image)
    import cv2

    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    kp, conf = det.detect(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    sx, sy = w / size[0], h / size[1]  # pixel centres: (u + 0.5) * s - 0.5
    return (kp + 0.5) * np.array([sx, sy]) - 0.5, conf


class LiveLifter:
    """Stateful per-stream lifter (the detectors track and the smoother remembers the last pose)."""

    def __init__(
        self, rig: StereoRig, detectors: tuple[Detector, Detector], cfg: LiveConfig, refiner: object = None
    ) -> None:
        if not 0 < cfg.det_scale <= 1:
            raise BinoposeError(f"--det-scale must be in (0, 1], got {cfg.det_scale}")
        self.rig, self.detectors, self.cfg = rig, detectors, cfg
        self.refiner = refiner if refiner is not None or not cfg.lift.refine else load_refiner(cfg.lift)
        self._lift_cfg = replace(cfg.lift, smooth="none")  # lift() smooths offline; we smooth causally
        lc = cfg.lift
        self.smoother = OneEuro(cfg.fps, lc.min_cutoff_hz, lc.beta) if lc.smooth == "oneeuro" else None
        self._t_prev: float | None = None
        # the refiner judges each frame as part of the recording so far (definitions, do-no-harm gate)
        self.evidence = RunningEvidence() if cfg.running_evidence else None
        self._pool = ThreadPoolExecutor(1, "binopose-detect") if cfg.parallel else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def _detect(self, left: Frame, right: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(2, 17, 2) pixels and (2, 17) confidences; MediaPipe releases the GIL while it runs, so with
        ``parallel`` the two views are detected at the same time on two cores."""
        (dl, dr), s = self.detectors, self.cfg.det_scale
        if self._pool is None:
            dets = [detect_scaled(dl, left.image, s), detect_scaled(dr, right.image, s)]
        else:
            future = self._pool.submit(detect_scaled, dr, right.image, s)
            dets = [detect_scaled(dl, left.image, s), future.result()]
        return np.stack([d[0] for d in dets]), np.stack([d[1] for d in dets])

    def warm_up(self) -> None:
        """Run the detectors on blank images and the lifting on a synthetic pose once, so the first
        real frames do not pay for loading the models (MediaPipe builds its graph on the first call)."""
        for det, cam in zip(self.detectors, (self.rig.left, self.rig.right)):
            w, h = cam.size if tuple(cam.size) != (0, 0) else (640, 480)
            detect_scaled(det, np.zeros((h, w, 3), np.uint8), self.cfg.det_scale)
        X = torch.zeros(17, 3, dtype=torch.float64)
        X[:, 0], X[:, 1], X[:, 2] = torch.linspace(-300, 300, 17), torch.linspace(-800, 800, 17), 3000.0
        uv = project(X, self.rig.projection_matrices(torch.float64)).numpy()  # (2, 17, 2)
        lift(
            Keypoints2D(uv[None], np.ones((1, 2, 17))),
            self.rig,
            self._lift_cfg,
            ideal=True,
            refiner=self.refiner,
        )

    def __call__(self, left: Frame, right: Frame) -> LivePose:
        kp, conf = self._detect(left, right)
        poses, info = lift(
            Keypoints2D(kp[None], conf[None]),
            self.rig,
            self._lift_cfg,
            refiner=self.refiner,
            evidence=self.evidence,
        )
        pose = poses.poses[0]
        if self.smoother is not None:
            dt = None if self._t_prev is None else max(left.t - self._t_prev, 1e-3)
            pose = self.smoother(pose, dt)
            self._t_prev = left.t
        return LivePose(
            left.seq,
            right.seq,
            left.t,
            left.t_host,
            kp,
            conf,
            pose,
            conf.min(0),
            bool(info["lr_swapped"][0]),
        )
