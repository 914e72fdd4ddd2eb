"""Evaluation methods that can see a fold's frames a chunk at a time: :class:`Method` splits into
``prepare`` (what the method fits on a fold) and the prediction of a chunk it returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from binopose.data.benchmark import Error2DStats, StereoBenchmark

Predict = Callable[[StereoBenchmark], np.ndarray]


def concat(parts: list[StereoBenchmark]) -> StereoBenchmark:
    """Frames of several benchmarks (chunks of one file) as one."""
    if len(parts) == 1:
        return parts[0]
    cat = lambda k: None if getattr(parts[0], k) is None else np.concatenate([getattr(b, k) for b in parts])  # noqa: E731
    keys = (
        "kp2d_pred",
        "K",
        "R_right_from_left",
        "t_right_from_left_mm",
        "baseline_mm",
        "kp2d_gt",
        "kp3d_gt",
        "subject",
        "action",
    )
    return replace(parts[0], **{k: cat(k) for k in keys})


@dataclass(frozen=True)
class FoldFrames:
    """The frames of a fold that a method predicts (without ground truth): their number, and a function
    returning a fresh iterator over (position of the first, frames) chunks."""

    n: int
    chunks: Callable[[], Iterator[tuple[int, StereoBenchmark]]]

    @classmethod
    def of(cls, bench: StereoBenchmark, size: int = 32768) -> FoldFrames:
        return cls(
            len(bench), lambda: ((i, bench.subset(slice(i, i + size))) for i in range(0, len(bench), size))
        )

    def gather(self, positions: np.ndarray) -> StereoBenchmark:
        """The frames at ``positions`` (sorted), as one benchmark."""
        parts = []
        for start, chunk in self.chunks():
            pick = positions[(positions >= start) & (positions < start + len(chunk))] - start
            if len(pick):
                parts.append(chunk.subset(pick))
        return concat(parts)

    def shifted(self, shift: np.ndarray) -> FoldFrames:
        return FoldFrames(self.n, lambda: ((i, _shifted(b, shift)) for i, b in self.chunks()))


Prepare = Callable[[FoldFrames, "Error2DStats | None"], Predict]


@dataclass(frozen=True)
class Method:
    """``prepare(frames, stats)`` fits what the method needs on a fold and returns its prediction of a
    chunk of that fold's frames; calling the method does both on one benchmark."""

    prepare: Prepare

    def __call__(self, bench: StereoBenchmark, stats: Error2DStats | None) -> np.ndarray:
        return self.prepare(FoldFrames.of(bench), stats)(bench)


def as_method(method: Method | Callable[[StereoBenchmark, Error2DStats | None], np.ndarray]) -> Method:
    """A :class:`Method` of a plain ``method(bench, stats)`` function (which then fits nothing apart
    from its prediction: on a chunked file it sees a chunk at a time)."""
    return method if isinstance(method, Method) else Method(lambda frames, stats: lambda b: method(b, stats))


def _light(stats: Error2DStats | None) -> Error2DStats | None:
    """The statistics without the frames they came from (what a prediction keeps)."""
    return None if stats is None else replace(stats, pred=None, gt=None, frames=None)


def _shifted(bench: StereoBenchmark, shift: np.ndarray) -> StereoBenchmark:
    return replace(bench, kp2d_pred=bench.kp2d_pred.astype(np.float64) - shift)
