"""``binopose refine`` a chunk at a time: 2D keypoints in, 3D poses out, in memory that does not grow
with the number of frames. Gives the rows :func:`binopose.video.pipeline.lift` gives (without smoothing,
which filters the whole sequence backwards too and stays in memory):

- left/right label swaps are repaired against the nearest agreeing frame of the whole sequence: a
  first pass finds each chunk's first agreeing frame, so a chunk sees the one before and after it;
- the refiner gets the complete poses as one call over the whole file would (the blocks of its own
  chunk size, in which it draws its hypotheses; the joint definitions and the do-no-harm gate from
  sums over all frames): :mod:`binopose.stream.refine`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry import triangulate
from binopose.geometry.rig import StereoRig
from binopose.io import Keypoints2D, Poses3D
from binopose.stream.keypoints import KeypointChunks
from binopose.stream.refine import GatedRefinement
from binopose.stream.scale import RunningBoneMedian
from binopose.video.pipeline import (
    LiftConfig,
    fix_left_right,
    lift_meta,
    load_refiner,
    reprojection_uncertainty,
    undistort,
)
from binopose.video.view_check import ViewDisagreement


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
    spill_dir: str | Path | None = None,
) -> Iterator[Poses3D]:
    """The poses of :func:`binopose.video.pipeline.lift` (without smoothing), chunk by chunk. ``counts`` gets
    ``lr_swapped_frames``, ``refined_frames`` and ``gate`` (what the gate found); ``spill_dir``: where the
    refiner's passes keep their temporary file (:mod:`binopose.stream.refine`)."""
    if cfg.smooth != "none":
        raise BinoposeError("smoothing filters the whole sequence: use binopose.video.pipeline.lift")
    P = rig.projection_matrices(torch.float64)
    fx = float(rig.left.K[0, 0])
    firsts = _first_agreeing(source, rig, ideal, P) if cfg.lr_fix else []
    solved = lambda: _solved(source, rig, ideal, P, firsts if cfg.lr_fix else None)  # noqa: E731
    counts.update(lr_swapped_frames=0, refined_frames=0)
    refined, gated = _Rows(iter(())), None
    if cfg.refine:
        refiner = refiner or load_refiner(cfg)
        rows = lambda: (  # noqa: E731
            (uv[ok].float(), conf[ok].float(), P.expand(int(ok.sum()), 2, 3, 4)) for _, uv, conf, _, _, ok in solved()
        )
        gated = GatedRefinement(refiner, rows, spill_dir=spill_dir)
        refined = _Rows(gated.poses())
        refined.fill()  # every pass over the input done before this one starts
    meta, scale, views = lift_meta(cfg, rig), RunningBoneMedian(), ViewDisagreement()
    for c, uv, conf, swap, X, ok in solved():
        counts["lr_swapped_frames"] += int(swap.sum())
        scale.add(X)
        views.add(uv, X, P, conf)
        unc = reprojection_uncertainty(X, uv, P, fx)
        m = int(ok.sum()) if cfg.refine else 0
        if m:
            X[ok] = refined.take(m)
            unc[ok] = reprojection_uncertainty(X[ok], uv[ok], P, fx)
            counts["refined_frames"] += m
        frames = np.arange(c.start, c.start + len(X)) if c.frames is None else c.frames
        yield Poses3D(X.numpy(), unc.numpy(), frames, fps, meta)
    if gated is not None and gated.report is not None:
        counts["gate"] = asdict(gated.report)
    scale.check()  # the whole recording's people, judged once (not the first chunk's)
    counts["view_disagreement_px"] = views.check()  # the whole recording's views, judged once


def _solved(
    source: KeypointChunks, rig: StereoRig, ideal: bool, P: torch.Tensor, firsts: list | None
) -> Iterator[tuple]:
    """One pass over the input: per chunk (chunk, uv, conf, swapped, triangulation, complete)."""
    before = None
    for k, c in enumerate(_chunks(source, rig, ideal)):
        uv, conf, swap = c.uv, c.conf, torch.zeros(len(c.uv), dtype=torch.bool)
        if firsts is not None:
            after = next((f for f in firsts[k + 1 :] if f is not None), None)
            uv, conf, swap, before = _repaired(c, before, after, P)
        X = triangulate(uv, P, conf)
        yield c, uv, conf, swap, X, torch.isfinite(X).all(-1).all(-1)


class _Rows:
    """Refined poses arriving in blocks, taken in any counts, in order."""

    def __init__(self, blocks: Iterator[torch.Tensor]) -> None:
        self.blocks, self.out = blocks, deque()

    def fill(self) -> None:
        first = next(self.blocks, None)
        if first is not None:
            self.out.append(first)

    def take(self, m: int) -> torch.Tensor:
        parts, got = [], 0
        while got < m:
            p = self.out.popleft() if self.out else next(self.blocks)
            k = min(m - got, len(p))
            parts.append(p[:k])
            if k < len(p):
                self.out.appendleft(p[k:])
            got += k
        return torch.cat(parts)
