"""Files: 3D poses (JSON, NPZ, CSV, TRC) with readers for JSON/NPZ/CSV, and 2D keypoint files.

3D poses are millimetres in the left camera frame (x right, y down, z forward), the canonical 17
joints; a missing joint is NaN (``null`` in JSON, an empty cell in CSV, ``NaN`` in TRC). Every file is
written atomically.

A 2D keypoint file (the input of ``binopose refine``, and what ``binopose run`` saves) is an NPZ
or JSON with ``kp2d`` (N, 2, K, 2) pixels, view 0 = left, optionally ``conf`` (N, 2, K), and ``layout``,
the name of its keypoint layout (``binopose.formats.layouts``: binopose17, coco17, halpe26, body25, ...).
A file that does not declare its layout needs one from the caller (``--layout``); keypoints are
converted to the canonical 17 joints on reading. binopose writes ``layout = "binopose17"``.
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.formats.layouts import resolve as resolve_layout
from binopose.formats.layouts import to_canonical
from binopose.geometry.transforms import apply_frame, export_frame
from binopose.io_utils import READ_ERRORS, atomic_write, atomic_write_text, check_npz_sizes
from binopose.skeleton import JOINT_NAMES, NUM_JOINTS

POSE_FORMATS = (".json", ".npz", ".csv", ".trc")
FRAME_NOTE = "left camera frame: x right, y down, z forward; millimetres"


@dataclass
class Poses3D:
    """A sequence of 3D poses with per-joint uncertainty."""

    poses: np.ndarray  # (N, 17, 3) mm
    uncertainty: np.ndarray  # (N, 17) mm (NaN = unknown)
    frame_index: np.ndarray | None = None  # (N,) source frame of each pose (left camera)
    fps: float | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.poses = np.asarray(self.poses, dtype=np.float64)
        n = len(self.poses)
        if self.poses.shape != (n, NUM_JOINTS, 3):
            raise BinoposeError(f"poses must be (N, {NUM_JOINTS}, 3), got {self.poses.shape}")
        self.uncertainty = np.asarray(self.uncertainty, dtype=np.float64)
        if self.uncertainty.shape != (n, NUM_JOINTS):
            raise BinoposeError(f"uncertainty must be ({n}, {NUM_JOINTS}), got {self.uncertainty.shape}")
        self.frame_index = (
            np.arange(n) if self.frame_index is None else np.asarray(self.frame_index, dtype=np.int64)
        )
        if self.frame_index.shape != (n,):
            raise BinoposeError(f"frame_index must be ({n},), got {self.frame_index.shape}")
        if self.fps is not None:
            if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float, np.number)):
                raise BinoposeError(f"fps must be a number or None, got {self.fps!r:.40}")
            if not (np.isfinite(self.fps) and self.fps > 0):
                raise BinoposeError(f"fps must be finite and > 0, got {self.fps}")
            self.fps = float(self.fps)
        if not isinstance(self.meta, dict):
            raise BinoposeError(f"meta must be a dict, got {type(self.meta).__name__}")

    def __len__(self) -> int:
        return len(self.poses)

    @property
    def times(self) -> np.ndarray:
        """(N,) seconds from the first frame (frame indices when the rate is unknown)."""
        return (self.frame_index - self.frame_index[0]) / (self.fps or 1.0) if len(self) else np.zeros(0)


def _nan_to_none(a: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 3) for v in a.ravel()]


def _cameras(p: Poses3D) -> list[str]:
    return camera_names(p.meta)


def camera_names(meta: dict) -> list[str]:
    """The camera names a pose file declares (``meta["cameras"]``; empty when unknown)."""
    cams = meta.get("cameras", [])
    return [str(c) for c in cams] if isinstance(cams, list) else []


def json_head(fps: float | None, meta: dict) -> str:
    """The pose JSON up to its frames (:func:`json_frames` follow, joined by commas, then ``]}``)."""
    doc = {
        "format": "binopose.poses3d/1",
        "units": "mm",
        "coordinates": FRAME_NOTE,
        "cameras": camera_names(meta),
        "fps": fps,
        "joint_names": list(JOINT_NAMES),
        "meta": meta,
    }
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)[:-1] + ',"frames":['


def json_frames(p: Poses3D) -> list[str]:
    return [
        json.dumps(
            {
                "frame": int(f),
                "joints_mm": [_nan_to_none(x) for x in pose],
                "uncertainty_mm": _nan_to_none(unc),
            },
            separators=(",", ":"),
            allow_nan=False,
        )
        for f, pose, unc in zip(p.frame_index, p.poses, p.uncertainty, strict=False)
    ]


def _json_text(p: Poses3D) -> str:
    return json_head(p.fps, p.meta) + ",".join(json_frames(p)) + "]}\n"


def csv_head(fps: float | None, meta: dict) -> str:
    """A ``# key: value`` preamble (read with ``pandas.read_csv(f, comment="#")``), then the header row
    (:func:`csv_rows` follow)."""
    lines = [
        f"# {key}: {value}\n"
        for key, value in (
            ("format", "binopose.poses3d/1"),
            ("coordinates", FRAME_NOTE),
            ("cameras", ", ".join(camera_names(meta)) or "unknown"),
            ("fps", "unknown" if fps is None else f"{fps:g}"),
        )
    ]
    cols = [f"{j}_{c}_mm" for j in JOINT_NAMES for c in "xyz"] + [f"{j}_unc_mm" for j in JOINT_NAMES]
    return "".join(lines) + ",".join(["frame", "time_s", *cols]) + "\n"


def csv_rows(p: Poses3D, first_frame: int | None = None) -> str:
    """CSV rows of ``p``; times count from ``first_frame`` (default: p's first frame)."""
    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    t0 = p.frame_index[0] if first_frame is None and len(p) else (first_frame or 0)
    times = (p.frame_index - t0) / (p.fps or 1.0)
    fmt = lambda v: "" if not np.isfinite(v) else f"{v:.3f}"  # noqa: E731
    for f, t, pose, unc in zip(p.frame_index, times, p.poses, p.uncertainty, strict=False):
        w.writerow([int(f), f"{t:.6f}", *map(fmt, pose.ravel()), *map(fmt, unc)])
    return buf.getvalue()


def _csv_text(p: Poses3D) -> str:
    return csv_head(p.fps, p.meta) + csv_rows(p)


def trc_head(n: int, fps: float | None, units: str = "m", name: str = "poses.trc") -> str:
    """The TRC header of ``n`` frames (:func:`trc_rows` follow)."""
    if units not in ("m", "mm"):
        raise BinoposeError(f"TRC units must be 'm' or 'mm', got {units!r}")
    rate = fps or 1.0
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.2f}\t{rate:.2f}\t{n}\t{NUM_JOINTS}\t{units}\t{rate:.2f}\t1\t{n}",
        "Frame#\tTime\t" + "\t\t\t".join(JOINT_NAMES) + "\t\t",
        "\t\t" + "\t".join(f"{c}{k + 1}" for k in range(NUM_JOINTS) for c in "XYZ"),
        "",
    ]
    return "\n".join(lines) + "\n"


def trc_rows(
    p: Poses3D,
    units: str = "m",
    start: int = 0,
    first_frame: int | None = None,
    frame: tuple[np.ndarray, np.ndarray] | None = None,
) -> str:
    """TRC rows of ``p``, numbered from ``start + 1``, times from ``first_frame`` (default: p's first),
    in the export frame ``frame`` = (R, t) (default: "upright", :func:`trc_text`)."""
    R, t = frame if frame is not None else export_frame(p.poses, "upright")
    X = apply_frame(p.poses, R, t) * (0.001 if units == "m" else 1.0)
    t0 = p.frame_index[0] if first_frame is None and len(p) else (first_frame or 0)
    times = (p.frame_index - t0) / (p.fps or 1.0)
    # a missing joint is "NaN", not an empty cell: OpenSim's TRC reader splits rows on whitespace and
    # refuses a row with fewer columns than the header (empty trailing cells vanish)
    fmt = lambda v: "NaN" if not np.isfinite(v) else f"{v:.6f}"  # noqa: E731
    return "".join(
        "\t".join([str(start + i + 1), f"{times[i]:.6f}", *map(fmt, X[i].ravel())]) + "\n"
        for i in range(len(p))
    )


def trc_text(p: Poses3D, units: str = "m", name: str = "poses.trc", frame: str = "upright") -> str:
    """OpenSim TRC text, ``units`` "m" or "mm". ``frame`` (``binopose.geometry.transforms``): "upright" =
    the camera frame turned 180 degrees about x (x right, y up, z towards the camera), "gravity" = y
    along the floor's normal estimated from the ankles (the floor at y = 0), "camera" = as is."""
    head = trc_head(len(p), p.fps, units, name)
    return head + trc_rows(p, units, frame=export_frame(p.poses, frame))


def save_poses(path: str | os.PathLike, p: Poses3D, trc_units: str = "m", trc_frame: str = "upright") -> Path:
    """Write poses to ``path``; the format follows the suffix (.json, .npz, .csv, .trc); see
    :func:`trc_text` for ``trc_units`` and ``trc_frame``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        atomic_write_text(path, _json_text(p))
    elif suffix == ".csv":
        atomic_write_text(path, _csv_text(p))
    elif suffix == ".trc":
        atomic_write_text(path, trc_text(p, trc_units, path.name, trc_frame))
    elif suffix == ".npz":
        arrays = dict(
            poses_mm=p.poses,
            uncertainty_mm=p.uncertainty,
            frame_index=p.frame_index,
            fps=np.float64(np.nan if p.fps is None else p.fps),
            joint_names=np.array(JOINT_NAMES),
            coordinates=np.array(FRAME_NOTE),
            cameras=np.array(_cameras(p), dtype=str),
            meta_json=np.array(json.dumps(p.meta)),
        )

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

        atomic_write(path, write)
    else:
        raise BinoposeError(
            f"unknown pose file type {path.suffix!r} for {path} (expected one of: {', '.join(POSE_FORMATS)})"
        )
    return path


def _check_joint_names(names: list[str], path: Path) -> None:
    if list(names) != list(JOINT_NAMES):
        raise BinoposeError(f"{path}: joint names differ from binopose's 17-joint order")


def load_poses(path: str | os.PathLike) -> Poses3D:
    """Read a pose file written by :func:`save_poses` (.json, .npz or .csv)."""
    path = Path(path)
    if not path.is_file():
        raise BinoposeError(f"pose file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            check_npz_sizes(path, "pose file")
            with np.load(path, allow_pickle=False) as d:
                _check_joint_names([str(s) for s in d["joint_names"]], path)
                fps = float(d["fps"])
                return Poses3D(
                    d["poses_mm"],
                    d["uncertainty_mm"],
                    d["frame_index"],
                    None if np.isnan(fps) else fps,
                    json.loads(str(d["meta_json"])),
                )
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            _check_joint_names(doc["joint_names"], path)
            fr = doc["frames"]
            as_arr = lambda key, shape: np.array([f[key] for f in fr], dtype=np.float64).reshape(shape)  # noqa: E731
            return Poses3D(
                as_arr("joints_mm", (len(fr), NUM_JOINTS, 3)),
                as_arr("uncertainty_mm", (len(fr), NUM_JOINTS)),
                np.array([f["frame"] for f in fr], dtype=np.int64),
                doc.get("fps"),
                doc.get("meta", {}),
            )
        if suffix == ".csv":
            lines = path.read_text(encoding="utf-8").splitlines()
            rows = list(csv.reader(line for line in lines if not line.startswith("#")))
            header, body = rows[0], rows[1:]
            if header[:2] != ["frame", "time_s"] or len(header) != 2 + 4 * NUM_JOINTS:
                raise BinoposeError(f"{path}: not a binopose pose CSV (header {header[:3]}...)")
            _check_joint_names([h[: -len("_x_mm")] for h in header[2 : 2 + 3 * NUM_JOINTS : 3]], path)
            vals = np.array(
                [[float(v) if v else np.nan for v in r[2:]] for r in body], dtype=np.float64
            ).reshape(-1, 4 * NUM_JOINTS)
            frames = np.array([int(r[0]) for r in body], dtype=np.int64)
            times = np.array([float(r[1]) for r in body])
            span = times[-1] - times[0] if len(body) > 1 else 0.0  # the rate from the whole span, 3 decimals
            fps = round(float((frames[-1] - frames[0]) / span), 3) if span > 0 else None
            return Poses3D(
                vals[:, : 3 * NUM_JOINTS].reshape(-1, NUM_JOINTS, 3), vals[:, 3 * NUM_JOINTS :], frames, fps
            )
    except READ_ERRORS as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"cannot read pose file {path}: {type(e).__name__}: {e}") from None
    raise BinoposeError(f"cannot read pose file type {path.suffix!r} ({path}); readable: .json, .npz, .csv")


# --- 2D keypoint files -------------------------------------------------------------------------------
@dataclass
class Keypoints2D:
    kp2d: np.ndarray  # (N, 2, 17, 2) px
    conf: np.ndarray | None  # (N, 2, 17)
    frame_index: np.ndarray | None = None  # (N, 2) source frame in each view
    meta: dict = field(default_factory=dict)


def _check_kp(kp2d: np.ndarray, conf: np.ndarray | None, path: Path | str) -> None:
    if kp2d.ndim != 4 or kp2d.shape[1:] != (2, NUM_JOINTS, 2):
        raise BinoposeError(
            f"{path}: kp2d must be (N, 2, {NUM_JOINTS}, 2) (frames, views, joints, xy), got {kp2d.shape}"
        )
    if conf is not None and conf.shape != kp2d.shape[:-1]:
        raise BinoposeError(f"{path}: conf must be {kp2d.shape[:-1]} to match kp2d, got {conf.shape}")


def save_keypoints_2d(path: str | os.PathLike, k: Keypoints2D) -> None:
    """Write a 2D keypoint file (.npz or .json) atomically."""
    path = Path(path)
    _check_kp(k.kp2d, k.conf, path)
    arrays = {"kp2d": k.kp2d.astype(np.float32), "layout": np.array("binopose17")}
    if k.conf is not None:
        arrays["conf"] = k.conf.astype(np.float32)
    if k.frame_index is not None:
        arrays["frame_index"] = np.asarray(k.frame_index, dtype=np.int64)
    if path.suffix.lower() == ".json":
        doc = {
            key: np.where(np.isfinite(a), a, None).tolist() if a.dtype.kind == "f" else a.tolist()
            for key, a in arrays.items()
        }  # layout: a 0-d array's tolist() is the string
        atomic_write_text(path, json.dumps({**doc, "meta": k.meta}, allow_nan=False) + "\n")
        return
    if path.suffix.lower() != ".npz":
        raise BinoposeError(f"2D keypoint files are .npz or .json, got {path}")
    arrays["meta_json"] = np.array(json.dumps(k.meta))

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    atomic_write(path, write)


def _declared_layout(value: object, path: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "U":
        value = str(value)
    if not isinstance(value, str):
        raise BinoposeError(f"{path}: 'layout' must be a layout name (a string), got {type(value).__name__}")
    return value


def _to_canonical(
    kp2d: np.ndarray, conf: np.ndarray | None, declared: str | None, layout: str | None, path: Path
) -> tuple[np.ndarray, np.ndarray | None, str]:
    if kp2d.ndim != 4 or kp2d.shape[1] != 2 or kp2d.shape[3] != 2:
        raise BinoposeError(
            f"{path}: kp2d must be (N, 2, K, 2) (frames, views, keypoints, xy), got {kp2d.shape}"
        )
    if conf is not None and conf.shape != kp2d.shape[:-1]:
        raise BinoposeError(f"{path}: conf must be {kp2d.shape[:-1]} to match kp2d, got {conf.shape}")
    name = resolve_layout(declared, layout, kp2d.shape[2], str(path))
    return (*to_canonical(kp2d, conf, name), name)


def load_keypoints_2d(path: str | os.PathLike, layout: str | None = None) -> Keypoints2D:
    """Read a 2D keypoint file: NPZ or JSON with ``kp2d`` (N, 2, K, 2), optional ``conf`` (N, 2, K) and
    ``layout``; ``layout`` names the layout of a file that does not (see the module's docstring).
    Returns the canonical 17 joints."""
    path = Path(path)
    if not path.is_file():
        raise BinoposeError(f"keypoint file not found: {path}")
    try:
        if path.suffix.lower() == ".npz":
            check_npz_sizes(path, "keypoint file")
            with np.load(path, allow_pickle=False) as d:
                if "kp2d" not in d:
                    raise BinoposeError(f"{path}: no 'kp2d' array (has: {', '.join(d.files)})")
                got = {k: d[k] for k in d.files}
            meta = json.loads(str(got["meta_json"])) if "meta_json" in got else {}
            declared = _declared_layout(got.get("layout"), path)
        elif path.suffix.lower() == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or "kp2d" not in doc:
                raise BinoposeError(f"{path}: expected a JSON object with a 'kp2d' key")
            got = {
                k: np.array(doc[k], dtype=np.float64)
                for k in ("kp2d", "conf", "frame_index")
                if doc.get(k) is not None
            }
            meta = doc.get("meta", {})
            declared = _declared_layout(doc.get("layout"), path)
        else:
            raise BinoposeError(f"2D keypoint files are .npz or .json, got {path}")
        for k in ("kp2d", "conf", "frame_index"):
            if k in got and np.asarray(got[k]).dtype.kind not in "fiu":
                raise BinoposeError(f"{path}: {k!r} has dtype {np.asarray(got[k]).dtype}, expected numbers")
        kp2d = np.asarray(got["kp2d"], dtype=np.float64)
        conf = np.asarray(got["conf"], dtype=np.float64) if "conf" in got else None
        fi = np.asarray(got["frame_index"], dtype=np.int64) if "frame_index" in got else None
    except READ_ERRORS as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"cannot read keypoint file {path}: {type(e).__name__}: {e}") from None
    kp2d, conf, _ = _to_canonical(kp2d, conf, declared, layout, path)
    _check_kp(kp2d, conf, path)
    if not isinstance(meta, dict):
        raise BinoposeError(f"{path}: 'meta' must be a JSON object, got {type(meta).__name__}")
    return Keypoints2D(kp2d, conf, fi, meta)
