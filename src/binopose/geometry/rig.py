"""Cameras and stereo rigs, and their TOML files (the layout aniposelib and Pose2Sim use).

A rig file has one table per camera::

    [cam_left]
    name = "cam_left"
    size = [1920, 1080]                 # width, height in pixels
    matrix = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]
    distortions = [k1, k2, p1, p2]      # or [.., k3], or [.., k3, k4, k5, k6] (OpenCV's rational model)
    fisheye = false                     # true: OpenCV's fisheye model, distortions = [k1, k2, k3, k4]
    rotation = [rx, ry, rz]             # Rodrigues vector, X_cam = R X_world + t
    translation = [tx, ty, tz]          # metres (Pose2Sim), or mm with [metadata] units = "mm"

binopose works in millimetres: translations are converted on reading and writing.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError, warn
from binopose.geometry.camera import FISHEYE_DIST_SIZE, PINHOLE_DIST_SIZES, distort_points, undistort_points
from binopose.geometry.rotations import matrix_to_rodrigues, rodrigues_to_matrix
from binopose.geometry.units import UNIT_TO_MM, check_unit, choose_unit
from binopose.io_utils import atomic_write_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Camera:
    """One calibrated pinhole camera (float64 numpy; translations in mm)."""

    name: str
    size: tuple[int, int]  # (width, height) px
    K: np.ndarray  # (3, 3)
    #: (5,) k1 k2 p1 p2 k3, (8,) with the rational model's k4 k5 k6, or (4,) k1..k4 of a fisheye lens
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))  # world -> camera
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))  # mm
    fisheye: bool = False  # OpenCV's fisheye (equidistant) lens model, aniposelib's ``fisheye = true``

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        R = np.asarray(self.R, dtype=np.float64)
        t = np.asarray(self.t, dtype=np.float64).reshape(-1)
        dist = _normalise_dist(self.name, np.asarray(self.dist, dtype=np.float64).reshape(-1), self.fisheye)
        if K.shape != (3, 3) or R.shape != (3, 3) or t.shape != (3,):
            raise BinoposeError(
                f"camera {self.name!r}: expected K (3,3), R (3,3), t (3,); got {K.shape}, {R.shape}, {t.shape}"
            )
        for what, a in (("matrix", K), ("rotation", R), ("translation", t), ("distortions", dist)):
            if not np.isfinite(a).all():
                raise BinoposeError(f"camera {self.name!r}: {what} has non-finite values")
        if not (K[0, 0] > 1e-9 and K[1, 1] > 1e-9):
            raise BinoposeError(
                f"camera {self.name!r}: focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}"
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
        object.__setattr__(self, "fisheye", bool(self.fisheye))

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection matrix."""
        return self.K @ np.concatenate([self.R, self.t[:, None]], axis=1)

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates (mm)."""
        return -self.R.T @ self.t

    def _lens(self, uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return (
            torch.as_tensor(self.K, dtype=uv.dtype, device=uv.device),
            torch.as_tensor(self.dist, dtype=uv.dtype, device=uv.device),
        )

    def distort(self, uv: torch.Tensor) -> torch.Tensor:
        """(..., J, 2) ideal pinhole pixels -> this camera's pixels (its lens model)."""
        return distort_points(uv, *self._lens(uv), fisheye=self.fisheye)

    def undistort(self, uv: torch.Tensor) -> torch.Tensor:
        """(..., J, 2) this camera's pixels -> ideal pinhole pixels; NaN where the lens model cannot be
        inverted (see :func:`binopose.geometry.camera.undistort_points`)."""
        return undistort_points(uv, *self._lens(uv), fisheye=self.fisheye)


def _normalise_dist(name: str, d: np.ndarray, fisheye: bool) -> np.ndarray:
    """Distortion coefficients as stored: fisheye (4,); pinhole (5,), or (8,) when k4..k6 are not all 0."""
    sizes = (0, FISHEYE_DIST_SIZE) if fisheye else (0, *PINHOLE_DIST_SIZES)
    if d.size not in sizes:
        model = (
            "a fisheye lens has 4 (k1, k2, k3, k4)"
            if fisheye
            else "OpenCV's k1 k2 p1 p2 [k3 [k4 k5 k6]]: 4, 5 or 8; the thin-prism and tilted models are not supported"
        )
        raise BinoposeError(f"camera {name!r}: {d.size} distortion coefficients ({model})")
    if fisheye:
        return d if d.size else np.zeros(4)
    out = np.zeros(8)
    out[: d.size] = d
    return out if np.any(out[5:] != 0) else out[:5]


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
        """(2, 3, 3) K and (2, 8) pinhole distortion (k1 k2 p1 p2 k3 k4 k5 k6) of the two views; a fisheye
        camera has no such vector: use :meth:`undistort` / :meth:`distort`, which know each lens model."""
        if self.left.fisheye or self.right.fisheye:
            raise BinoposeError("intrinsics(): a fisheye camera has no pinhole distortion vector")
        pad = lambda d: np.pad(d, (0, 8 - d.size))  # noqa: E731
        return (
            torch.tensor(np.stack([self.left.K, self.right.K]), dtype=dtype),
            torch.tensor(np.stack([pad(self.left.dist), pad(self.right.dist)]), dtype=dtype),
        )

    def undistort(self, uv: torch.Tensor) -> torch.Tensor:
        """(..., 2, J, 2) pixels of both views -> ideal pinhole pixels (NaN where a lens cannot be inverted)."""
        return torch.stack(
            [self.left.undistort(uv[..., 0, :, :]), self.right.undistort(uv[..., 1, :, :])], -3
        )

    def distort(self, uv: torch.Tensor) -> torch.Tensor:
        """(..., 2, J, 2) ideal pinhole pixels of both views -> the cameras' pixels."""
        return torch.stack([self.left.distort(uv[..., 0, :, :]), self.right.distort(uv[..., 1, :, :])], -3)


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
            fisheye=_toml_bool(table.get("fisheye", False), key),
        )
    except KeyError as e:
        raise BinoposeError(f"rig file: camera [{key}] has no field {e.args[0]!r}") from None
    except (TypeError, ValueError, IndexError) as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"rig file: camera [{key}] is malformed ({e})") from None


def _toml_bool(v: object, key: str) -> bool:
    if not isinstance(v, bool):
        raise BinoposeError(f"rig file: camera [{key}] has fisheye = {v!r:.40}; expected true or false")
    return v


def _read_toml(path: str | os.PathLike) -> tuple[Path, dict]:
    p = Path(path)
    if not p.is_file():
        raise BinoposeError(f"rig file not found: {p}")
    try:
        return p, tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BinoposeError(f"rig file {p} is not valid TOML: {e}") from None
    except OSError as e:
        raise BinoposeError(f"rig file {p} cannot be read: {e.strerror or e}") from None


def _declared_units(data: dict, p: Path) -> str | None:
    meta = data.get("metadata", {}) if isinstance(data.get("metadata"), dict) else {}
    return None if "units" not in meta else check_unit(str(meta["units"]), f"rig file {p}")


def _cameras(data: dict, p: Path, unit: str) -> list[Camera]:
    to_mm = UNIT_TO_MM[check_unit(unit, f"rig file {p}")]
    cams = [
        _camera_from_table(k, v, to_mm) for k, v in data.items() if k != "metadata" and isinstance(v, dict)
    ]
    if not cams:
        raise BinoposeError(f"rig file {p} has no camera tables")
    return cams


def load_cameras(path: str | os.PathLike, units: str | None = None) -> list[Camera]:
    """Read every camera of a TOML calibration file, in file order.

    Args:
        path: the TOML file. units: unit of ``translation`` ("m", "mm", "cm"); default: the file's
            ``[metadata] units`` if present, else metres (Pose2Sim's convention). :func:`load_rig`
            checks the unit against the stereo baseline; this function cannot.
    """
    p, data = _read_toml(path)
    return _cameras(data, p, units or _declared_units(data, p) or "m")


def _pick_pair(cams: list[Camera], path: Path, left: str | None, right: str | None) -> tuple[int, int]:
    names = [c.name for c in cams]
    if left is None and right is None:
        if len(cams) < 2:
            raise BinoposeError(f"rig file {path} has {len(cams)} camera; a stereo rig needs 2")
        if len(cams) > 2:
            warn(
                f"rig file {path} has {len(cams)} cameras; using the first two, {names[0]!r} (left) and "
                f"{names[1]!r} (right) (choose with --cameras)"
            )
        return 0, 1
    pair = [left or names[0], right or names[1]]
    for n in pair:
        if n not in names:
            raise BinoposeError(f"rig file {path} has no camera named {n!r} (cameras: {', '.join(names)})")
    return names.index(pair[0]), names.index(pair[1])


def load_rig(
    path: str | os.PathLike, left: str | None = None, right: str | None = None, units: str | None = None
) -> StereoRig:
    """Read a stereo rig: the cameras named ``left``/``right``, or the first two of the file (with a
    warning when it has more).

    ``units``: of the translations, "m", "cm", "mm", or None / "auto": the file's ``[metadata] units``,
    else metres or millimetres, whichever gives a plausible baseline (see :mod:`binopose.geometry.units`).
    """
    p, data = _read_toml(path)
    declared = _declared_units(data, p)
    raw = _cameras(data, p, "mm")  # the file's own numbers
    i, j = _pick_pair(raw, p, left, right)
    where = f"rig file {p} ({raw[i].name}/{raw[j].name})"
    unit = choose_unit(StereoRig(raw[i], raw[j]).baseline_mm, declared, units, where)
    cams = _cameras(data, p, unit)
    return StereoRig(cams[i], cams[j])


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
            f"translation = {_fmt(c.t / UNIT_TO_MM[units])}",
            f"fisheye = {'true' if c.fisheye else 'false'}",
            "",
        ]
    out += ["[metadata]", f'units = "{units}"', 'written_by = "binopose"', ""]
    return "\n".join(out)


def save_rig(cameras: list[Camera] | StereoRig, path: str | os.PathLike, units: str = "m") -> None:
    """Write cameras (or a rig) to a TOML file atomically."""
    atomic_write_text(path, rig_to_toml(cameras, units))
