"""The person-size check of :func:`binopose.video.pipeline.check_person_scale` over a whole recording that
arrives a chunk at a time: the median bone length of all frames, from a histogram of bone lengths (memory
that does not grow with the recording), judged once at the end."""

from __future__ import annotations

import numpy as np
import torch

from binopose.video.pipeline import bone_lengths, warn_person_scale

#: bin edges (mm): 64 per octave from 2^-10 to 2^30 mm, so the median is known to about 1%; lengths
#: outside fall into the end bins
_EDGES = 2.0 ** np.arange(-10, 30 + 1 / 64, 1 / 64)


class RunningBoneMedian:
    """The median bone length (mm) of every chunk added so far (to within a bin, ~1%)."""

    def __init__(self) -> None:
        self.counts = np.zeros(len(_EDGES) - 1, np.int64)

    def add(self, X: torch.Tensor) -> None:
        """The people (n, 17, 3) mm of one chunk (bones with a NaN joint are left out)."""
        lengths = bone_lengths(X).numpy()
        lengths = np.clip(lengths, _EDGES[0], _EDGES[-1])
        self.counts += np.histogram(lengths, _EDGES)[0]

    def median(self) -> float | None:
        """The median (the geometric centre of its bin), None when no bone was seen."""
        total = int(self.counts.sum())
        if not total:
            return None
        i = int(np.searchsorted(np.cumsum(self.counts), (total + 1) / 2))
        return float(np.sqrt(_EDGES[i] * _EDGES[i + 1]))

    def check(self) -> float | None:
        """Warn once if the recording's people are far from human size; returns the median (mm)."""
        return warn_person_scale(self.median())
