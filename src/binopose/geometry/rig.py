"""Cameras and stereo rigs, and their TOML files (the layout aniposelib and Pose2Sim use).

A rig file has one table per camera::

    [cam_left]
    name = "cam_left"
    size = [1920, 1080]                 # width, height in pixels
    matrix = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2]      # or [k1, k2, p1, p2, k3]
    rotation = [rx, ry, rz]             # Rodrigues vector, X_cam = R X_world + t
    translation = [tx, ty, tz]          # metres (Pose2Sim), or mm with [metadata] units = "mm"

binopose works in millimetres: translations are converted on reading and writing.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_UNIT_TO_MM = {"m": 1000.0, "mm": 1.0, "cm": 10.0}


def rodrigues_to_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation vector (3,) -> rotation matrix (3, 3)."""
    r = np.asarray(r, dtype=np.float64)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * Kx + (1 - math.cos(theta)) * Kx @ Kx


def matrix_to_rodrigues(R: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) -> rotation vector (3,)."""
    R = np.asarray(R, dtype=np.float64)
    cos = np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)
    theta = math.acos(cos)
    if theta < 1e-12:
        return np.zeros(3)
    if math.pi - theta < 1e-6:  # near 180 degrees: axis from the symmetric part
        B = (R + np.eye(3)) / 2
        axis = np.sqrt(np.clip(np.diag(B), 0, None))
        i = int(np.argmax(axis))
        axis = B[i] / axis[i]
        return axis / np.linalg.norm(axis) * theta
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * math.sin(theta))
    return w * theta


@dataclass(frozen=True)
class Camera:
    """One calibrated pinhole camera (float64 numpy; translations in mm)."""

    name: str
    size: tuple[int, int]  # (width, height) px
    K: np.ndarray  # (3, 3)
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))  # (5,) k1 k2 p1 p2 k3
    R: np.ndarray = field(default_factory=lambda: np.eye(3))  # world -> camera
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))  # mm

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        R = np.asarray(self.R, dtype=np.float64)
        t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        dist = np.zeros(5)
        d = np.asarray(self.dist, dtype=np.float64).reshape(-1)
        if d.size not in (0, 4, 5, 8):
            raise BinoposeError(f"camera {self.name!r}: distortions must have 4 or 5 values, got {d.size}")
        dist[: min(5, d.size)] = d[:5]
        if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,):
            raise BinoposeError(
                f"camera {self.name!r}: expected K (3,3), R (3,3), t (3,); got {K.shape}, {R.shape}, {t.shape}"
            )
        for what, a in (("matrix", K), ("rotation", R), ("translation", t), ("distortions", dist)):
            if not np.isfinite(a).all():
                raise BinoposeError(f"camera {self.name!r}: {what} has non-finite values")
        if abs(K[0, 0]) < 1e-9 or abs(K[1, 1]) < 1e-9 or abs(np.linalg.det(K)) < 1e-12:
            raise BinoposeError(
                f"camera {self.name!r}: intrinsic matrix is singular (fx={K[0, 0]}, fy={K[1, 1]})"
            )
        if np.abs(K[2] - [0, 0, 1]).max() > 1e-9 or abs(K[1, 0]) > 1e-9:
            raise BinoposeError(
                f"camera {self.name!r}: intrinsic matrix must be upper triangular with K[2] = [0, 0, 1]"
            )
        if np.abs(R @ R.T - np.eye(3)).max() > 1e-6 or np.linalg.det(R) < 0:
            raise BinoposeError(f"camera {self.name!r}: rotation is not a proper rotation matrix")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix."""
        return self.K @ np.concatenate([self.R, self.t[:, None]], axis=1)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates (mm)."""
        return -self.R.T @ self.t


@dataclass(frozen=True)
class StereoRig:
    """Two cameras; binopose's 3D output is in the left camera's frame (mm)."""

    left: Camera
    right: Camera

    def __post_init__(self) -> None:
        if self.baseline_mm < 1e-6:
            raise BinoposeError(
                f"stereo rig {self.left.name!r}/{self.right.name!r}: zero baseline (both camera centres coincide)"
            )

    @property
    def R_right_from_left(self) -> np.ndarray:
        return self.right.R @ self.left.R.T

    @property
    def t_right_from_left(self) -> np.ndarray:
        return self.right.t - self.R_right_from_left @ self.left.t

    @property
    def baseline_mm(self) -> float:
        return float(np.linalg.norm(self.left.center - self.right.center))

    @property
    def is_rectified(self) -> bool:
        """True when the right camera is the left one shifted along its x axis with the same rows."""
        t = self.t_right_from_left
        same_rows = (
            abs(self.left.K[1, 1] - self.right.K[1, 1]) < 1e-6
            and abs(self.left.K[1, 2] - self.right.K[1, 2]) < 1e-6
        )
        return bool(
            np.abs(self.R_right_from_left - np.eye(3)).max() < 1e-9
            and np.abs(t[1:]).max() < 1e-6
            and same_rows
        )

    def projection_matrices(
        self, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
    ) -> torch.Tensor:
        """(2, 3, 4) projection matrices with the left camera frame as world frame."""
        P_left = np.concatenate([self.left.K, np.zeros((3, 1))], axis=1)
        P_right = self.right.K @ np.concatenate(
            [self.R_right_from_left, self.t_right_from_left[:, None]], axis=1
        )
        return torch.tensor(np.stack([P_left, P_right]), dtype=dtype, device=device)

    def intrinsics(self, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """(2, 3, 3) K and (2, 5) distortion of the two views."""
        return (
            torch.tensor(np.stack([self.left.K, self.right.K]), dtype=dtype),
            torch.tensor(np.stack([self.left.dist, self.right.dist]), dtype=dtype),
        )


def _camera_from_table(key: str, table: dict, to_mm: float) -> Camera:
    try:
        size = table.get("size", [0, 0])
        return Camera(
            name=str(table.get("name", key)),
            size=(int(float(size[0])), int(float(size[1]))),
            K=np.asarray(table["matrix"], dtype=np.float64),
            dist=np.asarray(table.get("distortions", [0, 0, 0, 0]), dtype=np.float64),
            R=rodrigues_to_matrix(np.asarray(table.get("rotation", [0, 0, 0]), dtype=np.float64).reshape(3)),
            t=np.asarray(table.get("translation", [0, 0, 0]), dtype=np.float64).reshape(3) * to_mm,
        )
    except KeyError as e:
        raise BinoposeError(f"rig file: camera [{key}] has no field {e.args[0]!r}") from None
    except (TypeError, ValueError, IndexError) as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"rig file: camera [{key}] is malformed ({e})") from None


def load_cameras(path: str | os.PathLike, units: str | None = None) -> list[Camera]:
    """Read every camera of a TOML calibration file, in file order.

    Args:
        path: the TOML file. units: unit of ``translation`` ("m", "mm", "cm"); default: the file's
            ``[metadata] units`` if present, else metres (Pose2Sim's convention).
    """
    p = Path(path)
    if not p.is_file():
        raise BinoposeError(f"rig file not found: {p}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BinoposeError(f"rig file {p} is not valid TOML: {e}") from None
    except OSError as e:
        raise BinoposeError(f"rig file {p} cannot be read: {e.strerror or e}") from None
    meta = data.get("metadata", {}) if isinstance(data.get("metadata"), dict) else {}
    unit = units or str(meta.get("units", "m"))
    if unit not in _UNIT_TO_MM:
        raise BinoposeError(f"rig file {p}: unknown translation unit {unit!r} (expected m, cm or mm)")
    cams = [
        _camera_from_table(k, v, _UNIT_TO_MM[unit])
        for k, v in data.items()
        if k != "metadata" and isinstance(v, dict)
    ]
    if not cams:
        raise BinoposeError(f"rig file {p} has no camera tables")
    return cams


def load_rig(
    path: str | os.PathLike, left: str | None = None, right: str | None = None, units: str | None = None
) -> StereoRig:
    """Read a stereo rig: the cameras named ``left``/``right``, or the first two of the file."""
    cams = load_cameras(path, units)
    by_name = {c.name: c for c in cams}
    if left is None and right is None:
        if len(cams) < 2:
            raise BinoposeError(f"rig file {path} has {len(cams)} camera; a stereo rig needs 2")
        return StereoRig(cams[0], cams[1])
    names = [left or cams[0].name, right or cams[1].name]
    for n in names:
        if n not in by_name:
            raise BinoposeError(f"rig file {path} has no camera named {n!r} (cameras: {', '.join(by_name)})")
    return StereoRig(by_name[names[0]], by_name[names[1]])


def _toml_key(name: str) -> str:
    """A bare TOML key when the name allows it, else a quoted one (names may hold spaces, dots, quotes)."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _fmt(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.ndim == 1:
        return "[" + ", ".join(repr(float(x)) for x in a) + "]"
    return "[" + ", ".join(_fmt(r) for r in a) + "]"


def rig_to_toml(cameras: list[Camera] | StereoRig, units: str = "m") -> str:
    """TOML text for a list of cameras (or a rig), translations in ``units``."""
    cams = [cameras.left, cameras.right] if isinstance(cameras, StereoRig) else list(cameras)
    out = []
    for c in cams:
        out += [
            f"[{_toml_key(c.name)}]",
            f"name = {json.dumps(c.name)}",
            f"size = [{c.size[0]}, {c.size[1]}]",
            f"matrix = {_fmt(c.K)}",
            f"distortions = {_fmt(c.dist)}",
            f"rotation = {_fmt(matrix_to_rodrigues(c.R))}",
            f"translation = {_fmt(c.t / _UNIT_TO_MM[units])}",
            "fisheye = false",
            "",
        ]
    out += ["[metadata]", f'units = "{units}"', 'written_by = "binopose"', ""]
    return "\n".join(out)


def save_rig(cameras: list[Camera] | StereoRig, path: str | os.PathLike, units: str = "m") -> None:
    """Write cameras (or a rig) to a TOML file atomically."""
    atomic_write_text(path, rig_to_toml(cameras, units))
