"""The left/right repair (``video.pipeline.fix_left_right``): it repairs a view whose detector swapped the
subject's left and right, and it leaves alone a frame whose labels were right."""

from __future__ import annotations

import torch
from helpers import rectified_P, stereo_views

from binopose.geometry import project
from binopose.skeleton import flip_permutation
from binopose.video.pipeline import fix_left_right


def _swapped(uv: torch.Tensor, frames: list[int], view: int = 1) -> torch.Tensor:
    bad = uv.clone()
    bad[frames, view] = uv[frames, view][:, flip_permutation()]
    return bad


def test_a_rig_per_frame():
    """P of shape (N, 2, 3, 4) (a rig per frame, as virtual rigs give) works when some frames swap."""
    X, P, uv = stereo_views(6, seed=3)
    P = torch.cat([P[:3], rectified_P(3)])  # two kinds of rig in one batch
    uv = project(X, P)
    conf = torch.ones(uv.shape[:-1], dtype=torch.float64)
    fixed, _, swapped = fix_left_right(_swapped(uv, [1, 4]), conf, P)
    assert swapped.tolist() == [False, True, False, False, True, False]
    torch.testing.assert_close(fixed, uv)
