"""2D keypoint input a chunk at a time (``binopose refine``): a binopose ``.npz`` keypoint file is read a
chunk of frames at a time (its layout converted chunk by chunk); other inputs (JSON, OpenPose folders)
cannot be read in pieces and are read whole, then handed out in chunks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from binopose import stream
from binopose.errors import BinoposeError
from binopose.formats.layouts import resolve as resolve_layout
from binopose.formats.layouts import to_canonical
from binopose.formats.openpose import read_keypoints
from binopose.io import Keypoints2D, _check_kp, _declared_layout
from binopose.stream.npz import NpzReader

KeypointChunks = Callable[[], Iterator[Keypoints2D]]


def keypoint_chunks(
    paths: list[str] | list[Path] | str | Path, layout: str | None = None, chunk: int | None = None
) -> tuple[int, KeypointChunks]:
    """(frames, a function returning a fresh iterator over chunks) of the keypoints of ``binopose refine``
    (one file, or two OpenPose folders: :func:`binopose.formats.openpose.read_keypoints`); ``layout`` for
    input that does not declare one."""
    ps = [Path(p) for p in (paths if isinstance(paths, list) else [paths])]
    chunk = chunk or stream.CHUNK
    if len(ps) == 1 and ps[0].suffix.lower() == ".npz" and ps[0].is_file():
        return _npz_chunks(ps[0], layout, chunk)
    kp = read_keypoints(ps, layout)

    def sliced() -> Iterator[Keypoints2D]:
        for i in range(0, len(kp.kp2d), chunk):
            s = slice(i, i + chunk)
            fi = None if kp.frame_index is None else kp.frame_index[s]
            yield Keypoints2D(kp.kp2d[s], None if kp.conf is None else kp.conf[s], fi, kp.meta)

    return len(kp.kp2d), sliced


def _npz_chunks(path: Path, layout: str | None, chunk: int) -> tuple[int, KeypointChunks]:
    r = NpzReader(path, "keypoint file")
    if "kp2d" not in r.shapes:
        raise BinoposeError(f"{path}: no 'kp2d' array (has: {', '.join(r.shapes) or 'nothing'})")
    keys = [k for k in ("kp2d", "conf", "frame_index") if k in r.shapes]
    for k in keys:
        if r.dtypes[k].kind not in "fiu":
            raise BinoposeError(f"{path}: {k!r} has dtype {r.dtypes[k]}, expected numbers")
    shape = r.shapes["kp2d"]
    if len(shape) != 4 or shape[1] != 2 or shape[3] != 2:
        raise BinoposeError(f"{path}: kp2d must be (N, 2, K, 2) (frames, views, keypoints, xy), got {shape}")
    if "conf" in r.shapes and r.shapes["conf"] != shape[:-1]:
        raise BinoposeError(f"{path}: conf must be {shape[:-1]} to match kp2d, got {r.shapes['conf']}")
    declared = _declared_layout(r.read("layout"), path) if "layout" in r.shapes else None
    name = resolve_layout(declared, layout, shape[2], str(path))
    n = shape[0]
    if "frame_index" in r.shapes and r.shapes["frame_index"][:1] != (n,):
        raise BinoposeError(f"{path}: frame_index must have {n} rows, got {r.shapes['frame_index']}")
    meta = _meta(r, path)

    def rows() -> Iterator[Keypoints2D]:
        for d in r.rows(keys, chunk):
            conf = d.get("conf")
            kp2d, conf = to_canonical(
                d["kp2d"].astype(np.float64), None if conf is None else conf.astype(np.float64), name
            )
            _check_kp(kp2d, conf, path)
            fi = d.get("frame_index")
            yield Keypoints2D(kp2d, conf, None if fi is None else fi.astype(np.int64), meta)

    return n, rows


def _meta(r: NpzReader, path: Path) -> dict:
    if "meta_json" not in r.shapes:
        return {}
    try:
        meta = json.loads(str(r.read("meta_json")))
    except ValueError as e:
        raise BinoposeError(f"cannot read keypoint file {path}: meta_json: {e}") from None
    if not isinstance(meta, dict):
        raise BinoposeError(f"{path}: 'meta' must be a JSON object, got {type(meta).__name__}")
    return meta
