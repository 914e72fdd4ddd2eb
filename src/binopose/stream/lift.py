"""``binopose refine`` a chunk at a time: 2D keypoints in, 3D poses out, in memory that does not grow
with the number of frames. Gives the rows :func:`binopose.video.pipeline.lift` gives (without smoothing,
which filters the whole sequence backwards too and stays in memory):

- left/right label swaps are repaired against the nearest agreeing frame of the whole sequence: a
  first pass finds each chunk's first agreeing frame, so a chunk sees the one before and after it;
- the refiner gets the complete poses in blocks of its own chunk size, as one call over the whole
  file would (its hypotheses are drawn per chunk).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from binopose import stream
from binopose.errors import BinoposeError
from binopose.geometry import triangulate
from binopose.geometry.rig import StereoRig
from binopose.io import Keypoints2D, Poses3D, _check_kp, load_keypoints_2d
from binopose.stream.npz import NpzReader
from binopose.video.pipeline import LiftConfig, fix_left_right, reprojection_uncertainty, undistort

KeypointChunks = Callable[[], Iterator[Keypoints2D]]


def keypoint_chunks(path: str | Path, chunk: int | None = None) -> tuple[int, dict, KeypointChunks]:
    """(frames, meta, a function returning a fresh iterator over chunks) of a 2D keypoint file. An NPZ is
    read a chunk at a time; a JSON file is read whole (JSON cannot be read in pieces)."""
    path, chunk = Path(path), chunk or stream.CHUNK
    if path.suffix.lower() != ".npz":
        kp = load_keypoints_2d(path)

        def sliced() -> Iterator[Keypoints2D]:
            for i in range(0, len(kp.kp2d), chunk):
                s = slice(i, i + chunk)
                fi = None if kp.frame_index is None else kp.frame_index[s]
                yield Keypoints2D(kp.kp2d[s], None if kp.conf is None else kp.conf[s], fi, kp.meta)

        return len(kp.kp2d), kp.meta, sliced
    r = NpzReader(path, "keypoint file")
    if "kp2d" not in r.shapes:
        raise BinoposeError(f"{path}: no 'kp2d' array (has: {', '.join(r.shapes) or 'nothing'})")
    keys = [k for k in ("kp2d", "conf", "frame_index") if k in r.shapes]
    for k in keys:
        if r.dtypes[k].kind not in "fiu":
            raise BinoposeError(f"{path}: {k!r} has dtype {r.dtypes[k]}, expected numbers")
    empty = {k: np.broadcast_to(np.zeros((), r.dtypes[k]), r.shapes[k]) for k in keys}
    _check_kp(empty["kp2d"], empty.get("conf"), path)
    n = r.shapes["kp2d"][0]
    if "frame_index" in r.shapes and r.shapes["frame_index"][:1] != (n,):
        raise BinoposeError(f"{path}: frame_index must have {n} rows, got {r.shapes['frame_index']}")
    meta = _meta(r, path)

    def rows() -> Iterator[Keypoints2D]:
        for d in r.rows(keys, chunk):
            fi = d.get("frame_index")
            conf = d.get("conf")
            yield Keypoints2D(
                d["kp2d"].astype(np.float64),
                None if conf is None else conf.astype(np.float64),
                None if fi is None else fi.astype(np.int64),
                meta,
            )

    return n, meta, rows


def _meta(r: NpzReader, path: Path) -> dict:
    import json

    if "meta_json" not in r.shapes:
        return {}
    try:
        meta = json.loads(str(r.read("meta_json")))
    except ValueError as e:
        raise BinoposeError(f"cannot read keypoint file {path}: meta_json: {e}") from None
    if not isinstance(meta, dict):
        raise BinoposeError(f"{path}: 'meta' must be a JSON object, got {type(meta).__name__}")
    return meta


@dataclass
class _Chunk:
    start: int
    uv: torch.Tensor
    conf: torch.Tensor
    frames: np.ndarray | None


def _prepared(kp: Keypoints2D, start: int, rig: StereoRig, ideal: bool) -> _Chunk:
    uv = torch.as_tensor(kp.kp2d, dtype=torch.float64) if ideal else undistort(kp.kp2d, rig)
    conf = (
        torch.ones(uv.shape[:-1], dtype=torch.float64)
        if kp.conf is None
        else torch.as_tensor(kp.conf, dtype=torch.float64)
    )
    return _Chunk(start, uv, conf, None if kp.frame_index is None else kp.frame_index[:, 0])


def _chunks(source: KeypointChunks, rig: StereoRig, ideal: bool) -> Iterator[_Chunk]:
    start = 0
    for kp in source():
        yield _prepared(kp, start, rig, ideal)
        start += len(kp.kp2d)


def _first_agreeing(source: KeypointChunks, rig: StereoRig, ideal: bool, P: torch.Tensor) -> list:
    """Per chunk: (position, uv, conf) of its first frame whose views agree, or None."""
    firsts = []
    for c in _chunks(source, rig, ideal):
        good = torch.nonzero(~fix_left_right(c.uv, c.conf, P)[2]).flatten()
        i = int(good[0]) if len(good) else None
        # copies: a view would keep the whole chunk alive, and there is one per chunk
        firsts.append(
            None if i is None else (c.start + i, c.uv[i : i + 1].clone(), c.conf[i : i + 1].clone())
        )
    return firsts


def _repaired(c: _Chunk, before: tuple | None, after: tuple | None, P: torch.Tensor) -> tuple:
    """fix_left_right on the chunk with the nearest agreeing frames around it; returns (uv, conf, swap)
    and the chunk's last agreeing frame."""
    ctx = [x for x in (before, (c.start, c.uv, c.conf), after) if x is not None]
    index = torch.cat([torch.arange(s, s + len(u)) for s, u, _ in ctx])
    uv, conf, swap = fix_left_right(
        torch.cat([u for _, u, _ in ctx]), torch.cat([k for _, _, k in ctx]), P, index=index
    )
    lo = 1 if before is not None else 0
    sl = slice(lo, lo + len(c.uv))
    uv, conf, swap = uv[sl], conf[sl], swap[sl]
    good = torch.nonzero(~swap).flatten()
    last = before if not len(good) else (c.start + int(good[-1]), c.uv[good[-1:]], c.conf[good[-1:]])
    return uv, conf, swap, last


def lift_chunks(
    source: KeypointChunks,
    rig: StereoRig,
    cfg: LiftConfig,
    fps: float | None,
    ideal: bool,
    refiner: object | None,
    counts: dict,
) -> Iterator[Poses3D]:
    """The poses of :func:`binopose.video.pipeline.lift` (without smoothing), chunk by chunk. ``counts`` gets
    ``lr_swapped_frames`` and ``refined_frames``."""
    if cfg.smooth != "none":
        raise BinoposeError("smoothing filters the whole sequence: use binopose.video.pipeline.lift")
    P = rig.projection_matrices(torch.float64)
    firsts = _first_agreeing(source, rig, ideal, P) if cfg.lr_fix else []
    counts.update(lr_swapped_frames=0, refined_frames=0)
    block = getattr(refiner, "chunk", None) or stream.CHUNK
    queue = _RefineQueue(refiner, P, block)  # P: the pixels are undistorted already
    pending: deque = deque()
    before = None
    meta = {"lift": asdict(cfg)}
    for k, c in enumerate(_chunks(source, rig, ideal)):
        uv, conf = c.uv, c.conf
        if cfg.lr_fix:
            after = next((f for f in firsts[k + 1 :] if f is not None), None)
            uv, conf, swap, before = _repaired(c, before, after, P)
            counts["lr_swapped_frames"] += int(swap.sum())
        X = triangulate(uv, P, conf)
        unc = reprojection_uncertainty(X, uv, P, float(rig.left.K[0, 0]))
        ok = torch.isfinite(X).all(-1).all(-1) if cfg.refine else torch.zeros(len(X), dtype=torch.bool)
        queue.put(uv[ok].float(), conf[ok].float())
        frames = np.arange(c.start, c.start + len(X)) if c.frames is None else c.frames
        pending.append((X, unc, ok, frames))
        yield from _ready(pending, queue, fps, meta, counts, final=False)
    queue.flush()
    yield from _ready(pending, queue, fps, meta, counts, final=True)


def _ready(
    pending: deque, queue: _RefineQueue, fps: float | None, meta: dict, counts: dict, final: bool
) -> Iterator[Poses3D]:
    while pending and (final or queue.available >= int(pending[0][2].sum())):
        X, unc, ok, frames = pending.popleft()
        m = int(ok.sum())
        if m:
            poses, u = queue.take(m)
            X[ok], unc[ok] = poses, u
            counts["refined_frames"] += m
        yield Poses3D(X.numpy(), unc.numpy(), frames, fps, meta)


class _RefineQueue:
    """Complete poses in, refined in blocks of ``block`` rows (as one call over all of them would),
    results out in the same order."""

    def __init__(self, refiner: object | None, P: torch.Tensor, block: int) -> None:
        self.refiner, self.P, self.block = refiner, P, block
        self._in: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._queued = 0
        self._out: deque = deque()
        self.available = 0

    def put(self, uv: torch.Tensor, conf: torch.Tensor) -> None:
        if len(uv):
            self._in.append((uv, conf))
            self._queued += len(uv)
        while self._queued >= self.block:
            self._run(self.block)

    def flush(self) -> None:
        if self._queued:
            self._run(self._queued)

    def _run(self, n: int) -> None:
        uv, conf = (torch.cat(t) for t in zip(*self._in))
        self._in = [(uv[n:], conf[n:])] if len(uv) > n else []
        self._queued -= n
        res = self.refiner.refine(uv[:n], self.P, conf[:n])  # type: ignore[union-attr]
        self._out.append((res.poses.detach().double(), res.uncertainty.detach().double()))
        self.available += n

    def take(self, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        parts, got = [], 0
        while got < m:
            p, u = self._out.popleft()
            k = min(m - got, len(p))
            parts.append((p[:k], u[:k]))
            if k < len(p):
                self._out.appendleft((p[k:], u[k:]))
            got += k
        self.available -= m
        return torch.cat([p for p, _ in parts]), torch.cat([u for _, u in parts])
