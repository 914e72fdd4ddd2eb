"""3D poses written a chunk at a time, into a temporary file renamed over the output at the end: the same
files (byte for byte for JSON, CSV and TRC; the same arrays for NPZ) as :func:`binopose.io.save_poses`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.transforms import export_frame
from binopose.io import (
    FRAME_NOTE,
    POSE_FORMATS,
    Poses3D,
    camera_names,
    csv_head,
    csv_rows,
    json_frames,
    json_head,
    trc_head,
    trc_rows,
)
from binopose.io_utils import atomic_write
from binopose.skeleton import JOINT_NAMES
from binopose.stream.npz import NpzWriter


def write_poses(
    path: str | os.PathLike,
    n: int,
    fps: float | None,
    meta: dict,
    chunks: Iterable[Poses3D],
    trc_units: str = "m",
    trc_frame: str = "upright",
) -> int:
    """Write ``n`` poses arriving in ``chunks`` to ``path`` (format from the suffix); returns the count.
    ``trc_frame``: "upright" or "camera" ("gravity" is fitted to all frames: :func:`binopose.io.save_poses`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in POSE_FORMATS:
        raise BinoposeError(
            f"unknown pose file type {path.suffix!r} for {path} (expected one of: {', '.join(POSE_FORMATS)})"
        )
    if suffix == ".trc" and trc_frame == "gravity":
        raise BinoposeError("the TRC frame 'gravity' is fitted to all frames: write with binopose.io.save_poses")
    frame = export_frame(np.zeros((0, len(JOINT_NAMES), 3)), trc_frame)
    if suffix == ".npz":
        return _write_npz(path, fps, meta, chunks)
    count = [0]

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(
                {
                    ".json": json_head(fps, meta),
                    ".csv": csv_head(fps, meta),
                    ".trc": trc_head(n, fps, trc_units, path.name),
                }[suffix]
            )
            first = None
            for p in chunks:
                if first is None and len(p):
                    first = int(p.frame_index[0])
                if suffix == ".json":
                    f.write(("," if count[0] and len(p) else "") + ",".join(json_frames(p)))
                elif suffix == ".csv":
                    f.write(csv_rows(p, first))
                else:
                    f.write(trc_rows(p, trc_units, count[0], first, frame))
                count[0] += len(p)
            if suffix == ".json":
                f.write("]}\n")

    atomic_write(path, write)
    if count[0] != n:  # pragma: no cover - the caller's count and its chunks disagree
        raise RuntimeError(f"wrote {count[0]} poses, announced {n}")
    return count[0]


def _write_npz(path: Path, fps: float | None, meta: dict, chunks: Iterable[Poses3D]) -> int:
    count = 0
    with NpzWriter(path) as w:
        for p in chunks:
            w.add("poses_mm", p.poses)
            w.add("uncertainty_mm", p.uncertainty)
            w.add("frame_index", p.frame_index)
            count += len(p)
        if not count:
            w.add("poses_mm", np.zeros((0, len(JOINT_NAMES), 3)))
            w.add("uncertainty_mm", np.zeros((0, len(JOINT_NAMES))))
            w.add("frame_index", np.zeros(0, np.int64))
        w.put("fps", np.float64(np.nan if fps is None else fps))
        w.put("joint_names", np.array(JOINT_NAMES))
        w.put("coordinates", np.array(FRAME_NOTE))
        w.put("cameras", np.array(camera_names(meta), dtype=str))
        w.put("meta_json", np.array(json.dumps(meta)))
    return count
