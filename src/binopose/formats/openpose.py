"""OpenPose-style JSON folders: one file per frame, ``{"people": [{"pose_keypoints_2d": [x, y, c, ...]}]}``.

OpenPose writes them (BODY_25 by default), and so does Pose2Sim (RTMPose: HALPE_26 by default, COCO_133,
COCO_17); neither names the layout in the files, so the caller must (``--layout``). The frame number of a
file is the last number in its name (``clip_000000000012_keypoints.json``, ``cam01_000012.json``); files
without one are taken in name order. binopose follows one person: in a frame with several people it
takes the one with the highest total confidence (and warns how often that happened). A keypoint with
confidence 0 (OpenPose's (0, 0, 0) for "not found") is missing.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError, warn
from binopose.formats.layouts import resolve, to_canonical
from binopose.io import Keypoints2D, load_keypoints_2d
from binopose.io_utils import READ_ERRORS

_KEY = "pose_keypoints_2d"


def _frame_number(p: Path, i: int) -> int:
    nums = re.findall(r"\d+", p.stem)
    return int(nums[-1]) if nums else i


def _person(doc: object, f: Path) -> tuple[np.ndarray | None, int]:
    """(K, 3) x, y, c of the most confident person in one file (None: nobody), and the people count."""
    if not isinstance(doc, dict) or not isinstance(doc.get("people", []), list):
        raise BinoposeError(f"{f}: not an OpenPose JSON file (expected an object with a 'people' list)")
    people = []
    for person in doc.get("people", []):
        flat = person.get(_KEY) if isinstance(person, dict) else None
        if (
            not isinstance(flat, list)
            or len(flat) % 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat)
        ):
            raise BinoposeError(f"{f}: each person's {_KEY!r} must be a flat list of x, y, c numbers")
        if flat:
            people.append(np.asarray(flat, dtype=np.float64).reshape(-1, 3))
    if not people:
        return None, 0
    return max(people, key=lambda a: float(np.nansum(a[:, 2]))), len(people)


def read_openpose_folder(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one camera's folder of per-frame JSON files.

    Returns:
        (F,) frame numbers (sorted) and (F, K, 3) x, y, confidence (NaN rows for a frame with nobody).
    """
    d = Path(folder)
    if not d.is_dir():
        raise BinoposeError(f"not a folder of OpenPose JSON files: {d}")
    files = sorted(d.glob("*.json"))
    if not files:
        raise BinoposeError(f"{d}: no .json files")
    frames = [_frame_number(f, i) for i, f in enumerate(files)]
    if len(set(frames)) != len(frames):
        raise BinoposeError(f"{d}: two files have the same frame number (the last number in the name)")
    rows, crowded = [], 0
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except READ_ERRORS as e:
            raise BinoposeError(f"cannot read {f}: {type(e).__name__}: {e}") from None
        person, n = _person(doc, f)
        rows.append(person)
        crowded += n > 1
    sizes = {len(r) for r in rows if r is not None}
    if len(sizes) > 1:
        raise BinoposeError(f"{d}: the files have different keypoint counts ({sorted(sizes)})")
    k = sizes.pop() if sizes else 0
    if crowded:
        warn(f"{d}: {crowded} of {len(files)} frames have several people; the most confident one is used")
    data = np.stack([np.full((k, 3), np.nan) if r is None else r for r in rows])
    order = np.argsort(frames)
    return np.asarray(frames)[order], data[order]


def read_openpose_pair(left: str | os.PathLike, right: str | os.PathLike, layout: str | None) -> Keypoints2D:
    """Two cameras' OpenPose-style JSON folders -> canonical 17-joint keypoints, frames matched by
    number (a frame one camera lacks is missing in that view)."""
    (fl, dl), (fr, dr) = read_openpose_folder(left), read_openpose_folder(right)
    if dl.shape[1] != dr.shape[1] and dl.shape[1] and dr.shape[1]:
        raise BinoposeError(f"{left} has {dl.shape[1]} keypoints per person, {right} has {dr.shape[1]}")
    k = max(dl.shape[1], dr.shape[1])
    if not k:
        raise BinoposeError(f"{left} and {right}: nobody in any frame")
    name = resolve(None, layout, k, f"{left} and {right} (OpenPose JSON)")
    frames = np.union1d(fl, fr)
    data = np.full((len(frames), 2, k, 3), np.nan)
    for v, (f, d) in enumerate(((fl, dl), (fr, dr))):
        if d.shape[1]:
            data[np.searchsorted(frames, f), v] = d
    conf = np.nan_to_num(data[..., 2], nan=0.0)
    kp, conf = to_canonical(data[..., :2], conf, name)
    return Keypoints2D(kp, conf, np.stack([frames, frames], 1), {"source": "openpose_json", "layout": name})


def read_keypoints(paths: list[str] | list[Path], layout: str | None = None) -> Keypoints2D:
    """The 2D keypoints of ``binopose refine``: one binopose keypoint file (.npz / .json), or the left and
    right cameras' OpenPose-style JSON folders; ``layout`` for files that do not declare theirs."""
    ps = [Path(p) for p in paths]
    if len(ps) == 1 and not ps[0].is_dir():
        return load_keypoints_2d(ps[0], layout)
    if len(ps) == 2 and all(p.is_dir() for p in ps):
        return read_openpose_pair(ps[0], ps[1], layout)
    raise BinoposeError(
        "give one keypoint file (.npz or .json) or two folders of OpenPose JSON files (left, right); got "
        + ", ".join(f"{p} ({'folder' if p.is_dir() else 'file' if p.exists() else 'missing'})" for p in ps)
    )
