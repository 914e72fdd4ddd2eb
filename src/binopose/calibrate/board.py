"""Calibration boards (checkerboard, ChArUco) and finding their corners in one image (OpenCV)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from binopose.errors import BinoposeError

BOARD_KINDS = ("checkerboard", "charuco")
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
_DETECT_MAX_SIDE = 1280  # checkerboards are searched at most this large, then refined at full size


@dataclass(frozen=True)
class Board:
    """A printed calibration target.

    checkerboard: ``cols`` x ``rows`` *inner* corners (a 10 x 7-square board is 9 x 6).
    charuco: ``cols`` x ``rows`` *squares*, markers of ``marker_mm`` from ``dictionary``
    (an OpenCV name such as ``DICT_4X4_50``); ``legacy`` for boards made by OpenCV < 4.6.
    """

    kind: str = "checkerboard"
    cols: int = 9
    rows: int = 6
    square_mm: float = 25.0
    marker_mm: float = 0.0
    dictionary: str = "DICT_4X4_50"
    legacy: bool = False

    def __post_init__(self) -> None:
        if self.kind not in BOARD_KINDS:
            raise BinoposeError(f"unknown board {self.kind!r} (expected one of: {', '.join(BOARD_KINDS)})")
        least = 2 if self.kind == "checkerboard" else 3
        if self.cols < least or self.rows < least:
            raise BinoposeError(
                f"{self.kind} needs at least {least} x {least}, got {self.cols} x {self.rows}"
            )
        if not self.square_mm > 0:
            raise BinoposeError(f"square size must be > 0 mm, got {self.square_mm}")
        if self.kind == "charuco":
            if not 0 < self.marker_mm < self.square_mm:
                raise BinoposeError(
                    f"ChArUco marker size must be in (0, {self.square_mm}) mm, got {self.marker_mm}"
                )
            if not self.dictionary.startswith("DICT_") or not hasattr(cv2.aruco, self.dictionary):
                raise BinoposeError(
                    f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_50, DICT_5X5_100)"
                )

    def describe(self) -> str:
        if self.kind == "checkerboard":
            return f"checkerboard {self.cols}x{self.rows} inner corners, {self.square_mm:g} mm squares"
        return (
            f"ChArUco {self.cols}x{self.rows} squares, {self.square_mm:g} mm squares, "
            f"{self.marker_mm:g} mm markers, {self.dictionary}"
        )

    def object_points(self) -> np.ndarray:
        """(N, 3) float32 corner positions on the board plane (mm, z = 0), indexed by corner id."""
        if self.kind == "charuco":
            return np.asarray(charuco_board(self).getChessboardCorners(), dtype=np.float32).reshape(-1, 3)
        i, j = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        xy = np.stack([i.ravel(), j.ravel()], axis=1) * self.square_mm
        return np.concatenate([xy, np.zeros((len(xy), 1))], axis=1).astype(np.float32)


@lru_cache(maxsize=8)
def charuco_board(board: Board) -> cv2.aruco.CharucoBoard:
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, board.dictionary))
    b = cv2.aruco.CharucoBoard((board.cols, board.rows), board.square_mm, board.marker_mm, dictionary)
    b.setLegacyPattern(board.legacy)
    return b


@lru_cache(maxsize=8)
def _charuco_detector(board: Board) -> cv2.aruco.CharucoDetector:
    return cv2.aruco.CharucoDetector(charuco_board(board))


@dataclass(frozen=True)
class Detection:
    """Board corners seen in one image: ``ids`` (M,) index ``Board.object_points()``, ``points`` (M, 2) px."""

    ids: np.ndarray
    points: np.ndarray
    edge_width_px: float = math.nan  # blur measure (10-90 % edge rise), checkerboards only


def detect_board(gray: np.ndarray, board: Board) -> Detection | None:
    """Find the board in a (H, W) uint8 image; None when it is not there."""
    if board.kind == "charuco":
        corners, ids, _, _ = _charuco_detector(board).detectBoard(gray)  # sub-pixel refined inside
        if ids is None or len(ids) == 0:
            return None
        return Detection(ids.reshape(-1).astype(np.int64), corners.reshape(-1, 2).astype(np.float32))
    pattern = (board.cols, board.rows)
    scale = min(1.0, _DETECT_MAX_SIDE / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_FAST_CHECK
    found, corners = cv2.findChessboardCorners(small, pattern, flags=flags)
    if not found:
        return None
    corners = ((corners.reshape(-1, 2) + 0.5) / scale - 0.5).astype(np.float32)
    grid = corners.reshape(board.rows, board.cols, 2)
    spacing = min(
        np.linalg.norm(np.diff(grid, axis=1), axis=2).min(),
        np.linalg.norm(np.diff(grid, axis=0), axis=2).min(),
    )
    win = int(np.clip(spacing * 0.4, 2, 11))
    corners = cv2.cornerSubPix(
        gray, corners.reshape(-1, 1, 2), (win, win), (-1, -1), _SUBPIX_CRITERIA
    ).reshape(-1, 2)
    corners = _canonical_order(gray, corners, board)
    widths = [
        cv2.estimateChessboardSharpness(gray, pattern, corners[:, None], 0.8, v)[0][0] for v in (False, True)
    ]
    return Detection(np.arange(len(corners)), corners, float(max(widths)))


def _canonical_order(gray: np.ndarray, corners: np.ndarray, board: Board) -> np.ndarray:
    """Reverse the corners when corner 0 is not next to a dark outer square.

    OpenCV may start from either end of the board; on a board with cols + rows odd (9 x 6) the two
    ends differ in colour, so this makes both views number the corners alike.
    """
    if (board.cols + board.rows) % 2 == 0:
        return corners
    grid = corners.reshape(board.rows, board.cols, 2)
    dx, dy = grid[0, 1] - grid[0, 0], grid[1, 0] - grid[0, 0]
    corner_sq = np.round(grid[0, 0] - 0.5 * (dx + dy)).astype(int)  # the outer corner square
    side_sq = np.round(grid[0, 0] + 0.5 * (dx - dy)).astype(int)  # its neighbour along the edge
    h, w = gray.shape
    if not all(0 <= x < w and 0 <= y < h for x, y in (corner_sq, side_sq)):
        return corners
    dark_corner = int(gray[corner_sq[1], corner_sq[0]]) <= int(gray[side_sq[1], side_sq[0]])
    return corners if dark_corner else corners[::-1].copy()
