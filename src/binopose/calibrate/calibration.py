"""Stereo calibration from checkerboard or ChArUco image pairs or videos (OpenCV, at the edge).

The pipeline, one function each::

    iter_frame_pairs   two image folders (sorted, matched by index) or two videos (every n-th frame;
                       binopose.video.media)
    detect_board       corners of one gray image, sub-pixel refined, in board order (calibrate.board)
    calibrate_detections  per-camera intrinsics (cv2.calibrateCamera), stereo extrinsics
                       (cv2.stereoCalibrate, intrinsics fixed), outlier frames dropped and re-solved
    rectify_rig        optional: the rectified rig (cv2.stereoRectify), see ``rectification_maps``
                       (calibrate.rectify)
    write_calibration  the rig TOML (``save_rig``) and a JSON report

The world frame is the left camera frame (left R = I, t = 0), in millimetres. Only the calibration
modules (this one, ``board`` and ``rectify``) import cv2; the core never imports them.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from binopose.calibrate.board import Board, Detection, charuco_board, detect_board
from binopose.calibrate.rectify import rectified_path, rectify_rig
from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, StereoRig, matrix_to_rodrigues, save_rig
from binopose.io_utils import atomic_write_json
from binopose.video.media import iter_frame_pairs

# --- detection and rejection -------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationConfig:
    """How frames are sampled and judged, and what is solved for."""

    every: int = 1  # use every n-th frame (pair)
    min_corners: int = 8  # corners seen by both views (ChArUco; a checkerboard is all or nothing)
    max_edge_width_px: float = 5.0  # blur: 10-90 % edge rise of the checkerboard squares
    max_frame_rms_px: float = 1.0  # a frame is an outlier above max(this, outlier_factor * median)
    outlier_factor: float = 3.0
    min_pairs: int = 5
    fix_k3: bool = True  # k3 is poorly constrained by a flat board unless the lens is wide
    rectify: bool = False
    rectify_alpha: float = 1.0  # cv2.stereoRectify: 1 keeps every source pixel, 0 crops to valid ones
    names: tuple[str, str] = ("cam_left", "cam_right")

    def __post_init__(self) -> None:
        if self.every < 1 or self.min_pairs < 3:
            raise BinoposeError(
                f"every must be >= 1 and min_pairs >= 3, got {self.every} and {self.min_pairs}"
            )
        if not (self.max_edge_width_px > 0 and self.max_frame_rms_px > 0 and self.outlier_factor > 1):
            raise BinoposeError("blur and outlier limits must be > 0 (and outlier_factor > 1)")
        if self.names[0] == self.names[1]:
            raise BinoposeError(f"the two cameras need different names, got {self.names}")


@dataclass(frozen=True)
class FrameResult:
    """What happened to one frame pair: used (``reason`` empty) or rejected, and its errors (px)."""

    index: int
    name: str
    reason: str = ""
    corners: int = 0
    rms_left: float = math.nan
    rms_right: float = math.nan

    @property
    def used(self) -> bool:
        return not self.reason


NOT_FOUND = "board not found in either view"

#: corners seen by both views: object points (M, 3) float32 mm, left (M, 2) and right (M, 2) float32 px
PairObservation = tuple[np.ndarray, np.ndarray, np.ndarray]


def pair_observation(
    det_left: Detection | None, det_right: Detection | None, board: Board, config: CalibrationConfig
) -> PairObservation | str:
    """The corners both views saw, or the reason the pair is unusable."""
    if det_left is None and det_right is None:
        return NOT_FOUND
    if det_left is None or det_right is None:
        return f"board not found in the {'left' if det_left is None else 'right'} view"
    for side, det in (("left", det_left), ("right", det_right)):
        if det.edge_width_px > config.max_edge_width_px:
            width, limit = det.edge_width_px, config.max_edge_width_px
            return f"motion blur in the {side} view (edges {width:.1f} px wide > {limit:g})"
    common, i_left, i_right = np.intersect1d(det_left.ids, det_right.ids, return_indices=True)
    need = max(4, min(config.min_corners, len(board.object_points())))
    if len(common) < need:
        return f"too few corners seen by both views ({len(common)} < {need})"
    if board.kind == "charuco" and charuco_board(board).checkCharucoCornersCollinear(common.astype(np.int32)):
        return "the corners seen by both views lie on one line"
    obj = board.object_points()[common]
    return obj, det_left.points[i_left], det_right.points[i_right]


def detect_pairs(
    left: str | os.PathLike,
    right: str | os.PathLike,
    board: Board,
    config: CalibrationConfig = CalibrationConfig(),
    progress: bool = False,
) -> tuple[list[FrameResult], list[PairObservation | None], tuple[tuple[int, int], tuple[int, int]]]:
    """Detect the board in every sampled pair. Returns the frames (rejected ones with a reason), their
    observations (None where rejected) and the (width, height) of the left and right images."""
    from tqdm import tqdm

    total, pairs = iter_frame_pairs(left, right, config.every)
    frames, observations, sizes = [], [], None
    for index, name, img_l, img_r in tqdm(
        pairs, total=total or None, desc="detecting board", unit="pair", disable=None if progress else True
    ):
        sizes = sizes or ((img_l.shape[1], img_l.shape[0]), (img_r.shape[1], img_r.shape[0]))
        obs = pair_observation(detect_board(img_l, board), detect_board(img_r, board), board, config)
        if isinstance(obs, str):
            frames.append(FrameResult(index, name, obs))
            observations.append(None)
        else:
            frames.append(FrameResult(index, name, corners=len(obs[0])))
            observations.append(obs)
    if sizes is None:
        raise BinoposeError(f"no frame pairs in {left} and {right}")
    return frames, observations, sizes


# --- solving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationResult:
    """A calibrated stereo rig (world = left camera frame, mm), its errors (px) and every frame's fate."""

    rig: StereoRig
    rms_left: float  # intrinsics of each camera alone (cv2.calibrateCamera)
    rms_right: float
    rms_stereo: float  # both views with shared board poses and fixed intrinsics (cv2.stereoCalibrate)
    frames: tuple[FrameResult, ...]
    board: Board
    config: CalibrationConfig
    rectified: StereoRig | None = None

    @property
    def baseline_mm(self) -> float:
        return self.rig.baseline_mm

    @property
    def angle_deg(self) -> float:
        """Rotation angle between the two cameras."""
        return math.degrees(float(np.linalg.norm(matrix_to_rodrigues(self.rig.R_right_from_left))))

    @property
    def pairs_used(self) -> int:
        return sum(f.used for f in self.frames)

    def to_dict(self) -> dict:
        cams = {"left": self.rig.left, "right": self.rig.right}
        if self.rectified is not None:
            cams |= {"rectified_left": self.rectified.left, "rectified_right": self.rectified.right}
        return {
            "board": asdict(self.board),
            "config": asdict(self.config),
            "rms_px": {"left": self.rms_left, "right": self.rms_right, "stereo": self.rms_stereo},
            "baseline_mm": self.baseline_mm,
            "angle_deg": self.angle_deg,
            "pairs_used": self.pairs_used,
            "pairs_total": len(self.frames),
            "cameras": {k: _camera_dict(c) for k, c in cams.items()},
            "frames": [asdict(f) | {"used": f.used} for f in self.frames],
        }


def _camera_dict(c: Camera) -> dict:
    return {
        "name": c.name,
        "size": list(c.size),
        "matrix": c.K.tolist(),
        "distortions": c.dist.tolist(),
        "rotation": matrix_to_rodrigues(c.R).tolist(),
        "translation_mm": c.t.tolist(),
    }


@dataclass(frozen=True)
class _Solution:
    K: tuple[np.ndarray, np.ndarray]
    dist: tuple[np.ndarray, np.ndarray]
    rms: tuple[float, float, float]  # left, right, stereo
    R: np.ndarray  # right from left
    T: np.ndarray  # mm
    per_view: np.ndarray  # (N, 4): left, right alone; left, right in the stereo solve


def _solve(
    obs: list[PairObservation], sizes: tuple[tuple[int, int], tuple[int, int]], fix_k3: bool
) -> _Solution:
    obj = [o[0] for o in obs]
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    intr = [
        cv2.calibrateCameraExtended(obj, [o[side] for o in obs], sizes[side - 1], None, None, flags=flags)
        for side in (1, 2)
    ]
    (rms_l, K_l, d_l, *_, err_l), (rms_r, K_r, d_r, *_, err_r) = intr
    rms_s, _, _, _, _, R, T, _, _, _, _, err_s = cv2.stereoCalibrateExtended(
        obj, [o[1] for o in obs], [o[2] for o in obs], K_l, d_l, K_r, d_r, sizes[0], None, None,
        flags=cv2.CALIB_FIX_INTRINSIC,
    )  # fmt: skip
    per_view = np.column_stack([err_l.reshape(-1), err_r.reshape(-1), np.asarray(err_s).reshape(-1, 2)])
    return _Solution(
        (K_l, K_r), (d_l.reshape(-1), d_r.reshape(-1)), (rms_l, rms_r, rms_s), R, T.reshape(3), per_view
    )


def _too_few(frames: list[FrameResult], config: CalibrationConfig, board: Board) -> BinoposeError:
    used = sum(f.used for f in frames)
    reasons = Counter(f.reason.split(" (")[0] for f in frames if not f.used)
    if all(f.reason == NOT_FOUND for f in frames):
        return BinoposeError(
            f"no {board.describe()} found in any of the {len(frames)} frame pairs "
            "(check --board, --cols/--rows: inner corners for a checkerboard, squares for ChArUco)"
        )
    summary = "; ".join(f"{n} x {r}" for r, n in reasons.most_common())
    return BinoposeError(
        f"only {used} usable frame pairs of {len(frames)} (need {config.min_pairs}): {summary}"
    )


def calibrate_detections(
    frames: list[FrameResult],
    observations: list[PairObservation | None],
    sizes: tuple[tuple[int, int], tuple[int, int]],
    board: Board,
    config: CalibrationConfig = CalibrationConfig(),
) -> CalibrationResult:
    """Intrinsics per camera, then extrinsics with the intrinsics fixed; frames whose reprojection error
    exceeds max(``max_frame_rms_px``, ``outlier_factor`` x median) are dropped and everything re-solved."""
    frames = list(frames)
    for _ in range(5):
        keep = [i for i, f in enumerate(frames) if f.used]
        if len(keep) < config.min_pairs:
            raise _too_few(frames, config, board)
        try:
            sol = _solve([observations[i] for i in keep], sizes, config.fix_k3)
        except cv2.error as e:
            raise BinoposeError(f"OpenCV could not calibrate from {len(keep)} pairs: {e.err}") from None
        worst = sol.per_view.max(axis=1)
        limit = max(config.max_frame_rms_px, config.outlier_factor * float(np.median(worst)))
        for i, e, row in zip(keep, worst, sol.per_view, strict=True):
            reason = f"reprojection error above the limit ({e:.2f} px > {limit:.2f} px)" if e > limit else ""
            frames[i] = replace(frames[i], reason=reason, rms_left=float(row[2]), rms_right=float(row[3]))
        if (worst <= limit).all():
            break
    else:
        raise BinoposeError(
            "frames kept being rejected as outliers after 5 rounds; check the board and the pairing"
        )
    left = Camera(config.names[0], sizes[0], sol.K[0], sol.dist[0])
    right = Camera(config.names[1], sizes[1], sol.K[1], sol.dist[1], R=sol.R, t=sol.T)
    rig = StereoRig(left, right)
    rect = rectify_rig(rig, config.rectify_alpha) if config.rectify else None
    return CalibrationResult(rig, *sol.rms, tuple(frames), board, config, rect)


#: The pair's RMS error is suspect above this many times the worse camera's alone, and above this floor (px).
PAIRING_FACTOR, PAIRING_FLOOR_PX = 3.0, 2.0


def pairing_problem(rms_left: float, rms_right: float, rms_stereo: float) -> str | None:
    """Why the left and right images look mismatched, or None: each camera fits its own images but the
    two do not fit together (stereo RMS > 3 x the worse camera's and > 2 px), as when one folder is
    shifted by a frame or the videos are out of sync."""
    worse = max(rms_left, rms_right)
    if rms_stereo > PAIRING_FACTOR * worse and rms_stereo > PAIRING_FLOOR_PX:
        return (
            f"the pair's RMS error is {rms_stereo:.2f} px against {worse:.2f} px for each camera alone "
            f"(more than {PAIRING_FACTOR:g}x and {PAIRING_FLOOR_PX:g} px): the left and right images do not "
            "show the same moments (one folder shifted by a frame, unsynchronised videos?)"
        )
    return None


def calibrate_stereo(
    left: str | os.PathLike,
    right: str | os.PathLike,
    board: Board,
    config: CalibrationConfig = CalibrationConfig(),
    progress: bool = False,
) -> CalibrationResult:
    """Calibrate a stereo rig from two image folders or two videos showing the same board."""
    frames, observations, sizes = detect_pairs(left, right, board, config, progress)
    return calibrate_detections(frames, observations, sizes, board, config)


# --- files -------------------------------------------------------------------------------------


def write_calibration(
    result: CalibrationResult,
    out: str | os.PathLike,
    report: str | os.PathLike | None = None,
    units: str = "m",
) -> list[Path]:
    """Write the rig TOML (and ``<out>_rectified.toml`` when rectified) and the JSON report.

    Returns the paths written."""
    save_rig(result.rig, out, units=units)
    written = [Path(out)]
    if result.rectified is not None:
        save_rig(result.rectified, rectified_path(out), units=units)
        written.append(rectified_path(out))
    if report is not None:
        atomic_write_json(report, result.to_dict())
        written.append(Path(report))
    return written
