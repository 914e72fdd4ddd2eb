"""``binopose eval`` a chunk at a time: the file is read in chunks (never whole), each fold's method is
prepared once (what it fits: statistics, a start level, a shift, offsets) and then predicts the fold's
frames in blocks of :data:`binopose.stream.CHUNK` (as one call over the fold would: the refiner draws
its hypotheses per chunk of its own), and the metrics are running sums.

Under ``cross-subject`` the statistics of a fold (and a calibrated start level, shift or offsets) are
fitted on the other subjects' frames among at most :data:`FIT_FRAMES` frames spread evenly over the
file: all of them when the file is no larger, so the numbers are today's; on larger files the fit uses
that subset (it fits a handful of numbers; 16 refinements of every other frame would take hours).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from binopose import stream
from binopose.data.benchmark import (
    ROW_MEMBERS,
    Error2DStats,
    StereoBenchmark,
    bad_truth,
    check_members,
    fit_error_stats,
    from_arrays,
    protocol_folds,
    refuse_bad_truth,
)
from binopose.errors import BinoposeError
from binopose.evaluate import _spread
from binopose.geometry import project, triangulate
from binopose.methods import FoldFrames, Method, Predict, as_method, concat
from binopose.stream.metrics import MetricSums
from binopose.stream.npz import NpzReader

#: frames (at most) that cross-subject statistics and fits are drawn from, spread over the file
FIT_FRAMES = 131072


class BenchmarkFile:
    """A ``*_stereo_test.npz`` file, checked from its headers, read a chunk of frames at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.reader = NpzReader(self.path, "benchmark file")
        r = self.reader
        self.n = check_members(r.shapes, r.dtypes, self.path)
        self.keys = [k for k in ROW_MEMBERS if k in r.shapes]
        self.fixed = {k: r.read(k) for k in ("pred2d_err_mean_px", "pred2d_err_scale_px") if k in r.shapes}

    def chunks(self, size: int | None = None) -> Iterator[tuple[int, StereoBenchmark]]:
        start = 0
        for d in self.reader.rows(self.keys, size or stream.CHUNK):
            b = from_arrays({**d, **self.fixed}, self.path)
            yield start, b
            start += len(b)


@dataclass
class _Fold:
    name: str
    subject: str | None  # None: every frame
    n: int
    stats: Error2DStats | None
    fit: tuple[StereoBenchmark, np.ndarray, str] | None = None  # cross-subject: fitted when prepared
    predict: Predict | None = None
    source: str | None = None
    scored: tuple[str, ...] | None = None  # only these subjects' frames (None: all)

    def of(self, b: StereoBenchmark) -> StereoBenchmark:
        if self.subject is None and self.scored is None:
            return b
        keep = b.subject == self.subject if self.subject is not None else np.isin(b.subject, self.scored)
        return b.subset(np.flatnonzero(keep))

    def prepare(self, method: Method, frames: FoldFrames) -> None:
        """Fit the fold's statistics (cross-subject: now, one fold at a time), prepare the method on
        them, and keep only the prediction (the fitted frames are let go)."""
        stats = self.stats if self.fit is None else fit_error_stats(*self.fit)
        self.predict = method.prepare(frames, stats)
        self.stats, self.fit = None, None
        self.source = None if stats is None else stats.source


def _frames(f: BenchmarkFile, fold: _Fold) -> FoldFrames:
    def chunks() -> Iterator[tuple[int, StereoBenchmark]]:
        pos = 0
        for _, b in f.chunks():
            sub = fold.of(b)
            if len(sub):
                yield pos, sub.blind()
                pos += len(sub)

    return FoldFrames(fold.n, chunks)


def _folds(
    f: BenchmarkFile, protocol: str, fit_frames: int, scored: tuple[str, ...] | None = None
) -> tuple[list[_Fold], Counter, Counter]:
    """First pass: every chunk checked, labels counted, the frames a protocol fits on gathered; the
    folds score only the subjects ``scored`` (None: all)."""
    keep = _spread(f.n, fit_frames)
    subjects, actions, parts, first, bad = Counter(), Counter(), [], None, Counter()
    for start, b in f.chunks():
        first = first or b
        truth = {"kp2d_pred": b.kp2d_pred, "kp3d_gt": b.kp3d_gt, "kp2d_gt": b.kp2d_gt}
        bad.update(bad_truth({k: v for k, v in truth.items() if v is not None}))
        subjects.update(b.subject.tolist())
        actions.update((b.action if scored is None else b.action[np.isin(b.subject, scored)]).tolist())
        if protocol == "cross-subject":
            pick = keep[(keep >= start) & (keep < start + len(b))] - start
            if len(pick):
                parts.append(b.subset(pick))
    refuse_bad_truth(dict(bad), f.n, f.path)
    if scored is not None and set(scored) - set(subjects):
        missing = ", ".join(sorted(set(scored) - set(subjects)))
        raise BinoposeError(f"benchmark file {f.path} has no subject {missing} (--subjects)")
    if protocol != "cross-subject":
        stats = protocol_folds(first.subset(slice(0, 1)), protocol)[0].stats
        n = f.n if scored is None else sum(subjects[s] for s in scored)
        return [_Fold("all", None, n, stats, scored=scored)], subjects, actions
    names = sorted(subjects)
    if len(names) < 2:
        raise BinoposeError(f"benchmark file {f.path}: protocol 'cross-subject' needs at least 2 subjects")
    sample = concat(parts)
    folds = []
    for s in names if scored is None else [x for x in names if x in scored]:
        others = np.flatnonzero(sample.subject != s)
        fit = (sample, others, "frames of " + ", ".join(x for x in names if x != s))
        folds.append(_Fold(s, s, subjects[s], None, fit))
    return folds, subjects, actions


def _score(predict: Predict, bench: StereoBenchmark, sums: MetricSums) -> None:
    out = np.asarray(predict(bench.blind()), dtype=np.float64)
    if out.shape != bench.kp3d_gt.shape:
        raise RuntimeError(f"method returned shape {out.shape} for {len(bench)} frames")
    fill = None
    if not np.isfinite(out).all():  # missing joints also scored as raw triangulation places them
        kp = torch.from_numpy(bench.kp2d_pred.astype(np.float64))
        fill = triangulate(kp, bench.projection_matrices()).numpy()
    sums.add(out, bench.kp3d_gt, bench.subject, bench.action, fill)
    if bench.kp2d_gt is not None:
        uv = project(torch.from_numpy(np.nan_to_num(out)), bench.projection_matrices()).numpy()
        uv[~np.isfinite(out).all(-1)[:, None].repeat(2, 1)] = np.nan
        sums.add_reprojection(uv, bench.kp2d_gt, bench.kp2d_pred)


def evaluate_file(
    path: str | Path,
    method: Method,
    protocol: str,
    name: str = "method",
    fit_frames: int = FIT_FRAMES,
    subjects: tuple[str, ...] | None = None,
) -> dict:
    """:func:`binopose.evaluate.evaluate`'s metrics dict of a benchmark file, read a chunk at a time
    (``subjects``: score only these subjects' frames, as there)."""
    f = BenchmarkFile(path)
    if "kp3d_gt" not in f.keys:
        raise BinoposeError(f"benchmark file {f.path} has no 'kp3d_gt': nothing to evaluate against")
    method = as_method(method)
    folds, counted, actions = _folds(f, protocol, fit_frames, subjects)
    for fold in folds:
        fold.prepare(method, _frames(f, fold))
    sums, block = MetricSums(f.reader.shapes["kp3d_gt"][1]), stream.CHUNK
    queues: dict[str, list[StereoBenchmark]] = {fold.name: [] for fold in folds}
    for _, b in f.chunks():
        for fold in folds:
            q = queues[fold.name]
            q.append(fold.of(b))
            while sum(map(len, q)) >= block:
                rows = concat(q)
                _score(fold.predict, rows.subset(slice(0, block)), sums)
                q[:] = [rows.subset(slice(block, None))]
    for fold in folds:
        q = [x for x in queues[fold.name] if len(x)]
        if q:
            _score(fold.predict, concat(q), sums)
    result = {"method": name, "protocol": protocol, "file": str(f.path)}
    result.update(sums.result())
    if result["coverage"] < 1:
        result["missing_as_triangulated"] = sums.filled_result()
    result["counts"] = {
        "per_subject": {s: counted[s] for s in result["per_subject"]},
        "per_action": {a: actions[a] for a in result["per_action"]},
    }
    if sums.reprojection is not None:
        result["reprojection_px"] = [float(v) for v in sums.reprojection.mean()]
        result["input_2d_px"] = [float(v) for v in sums.input_2d.mean()]  # the detector's
    result["folds"] = [{"name": fo.name, "frames": fo.n, "stats": fo.source} for fo in folds]
    if subjects is not None:
        result["subjects"] = list(subjects)
    f.reader.close()
    return result
