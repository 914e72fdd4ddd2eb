"""The left/right repair (``video.pipeline.fix_left_right``): it repairs a view whose detector swapped the
subject's left and right, and it leaves alone a frame whose labels were right."""

from __future__ import annotations

import pytest
import torch
from helpers import TEMPLATE, camera_frame_poses, rectified_P, stereo_views

from binopose.geometry import project, triangulate
from binopose.geometry.stereo import fundamental_matrix, sampson_sq
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


def _template_far(scale: float = 10.0, baseline_mm: float = 120.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The standing template as the person-size test places it (every left/right pair of joints at one
    height: no epipolar evidence of a swap in a rectified pair), ``scale`` times larger and further."""
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None] * scale
    P = rectified_P(1, baseline_mm)[0]
    return X, P


def test_a_far_person_with_right_labels_is_not_swapped():
    """A 10x person at 30 m over 120 mm (exact keypoints): the old rule swapped on float noise and
    triangulated the person at 1.08 m."""
    X, P = _template_far()
    uv = project(X, P)
    conf = torch.ones(uv.shape[:-1], dtype=torch.float64)
    fixed, _, swapped = fix_left_right(uv, conf, P)
    assert not swapped.any()
    torch.testing.assert_close(triangulate(fixed, P, conf), X)


def test_noise_alone_does_not_swap_far_people_over_short_baselines():
    """Right labels, 20 m over 60 mm, 2 px noise: the disparity (3 px) is near the noise, and the old
    rule (reprojection error of a triangulation whose rays nearly meet) swapped 117 of 300."""
    gen = torch.Generator().manual_seed(0)
    X = camera_frame_poses(300, depth_mm=20_000.0, seed=1)
    P = rectified_P(300, baseline_mm=60.0)
    uv = project(X, P) + 2.0 * torch.randn(300, 2, 17, 2, generator=gen, dtype=torch.float64)
    assert int(fix_left_right(uv, torch.ones(300, 2, 17, dtype=torch.float64), P)[2].sum()) == 0


def test_a_symmetric_person_in_front_of_a_rectified_pair_is_rarely_swapped():
    """The worst case: a swap moves no joint across the epipolar lines, so only noise decides; at 20 m
    over 120 mm with 2 px the old rule swapped 67 of 300 (the significance level: 1 in ~300)."""
    gen = torch.Generator().manual_seed(0)
    X, P = _template_far(scale=1.0, baseline_mm=120.0)
    X = X + torch.tensor([0.0, 0.0, 17_000.0], dtype=torch.float64)
    uv = project(X, P) + 2.0 * torch.randn(300, 2, 17, 2, generator=gen, dtype=torch.float64)
    assert int(fix_left_right(uv, torch.ones(300, 2, 17, dtype=torch.float64), P)[2].sum()) <= 3


@pytest.mark.parametrize("depth_mm, baseline_mm, sigma", [(4000.0, 300.0, 1.0), (30_000.0, 120.0, 0.0)])
def test_a_swapped_view_is_still_repaired(depth_mm, baseline_mm, sigma):
    """Swapped right views are found (and only those) where the swap moves joints across the epipolar
    lines, near with noise and far without."""
    gen = torch.Generator().manual_seed(0)
    X = camera_frame_poses(60, depth_mm=depth_mm, seed=2)
    P = rectified_P(60, baseline_mm=baseline_mm)
    uv = project(X, P) + sigma * torch.randn(60, 2, 17, 2, generator=gen, dtype=torch.float64)
    bad = _swapped(uv, list(range(0, 60, 6)))
    fixed, _, swapped = fix_left_right(bad, torch.ones(60, 2, 17, dtype=torch.float64), P)
    assert swapped.tolist() == [i % 6 == 0 for i in range(60)]
    torch.testing.assert_close(fixed[swapped], uv[swapped])  # the right view was the wrong one here


def test_fundamental_matrix_and_sampson_distance():
    """x_r^T F x_l = 0 for every projected point of a convergent pair (P of one rig or a rig per frame);
    in a rectified pair the squared Sampson distance is half the squared row difference (each view's
    point moves half of it), whatever the disparity."""
    X, P, uv = stereo_views(4, seed=5)
    for F in (fundamental_matrix(P), fundamental_matrix(P[0])):
        assert sampson_sq(uv, F).abs().max() < 1e-12
    P = rectified_P(1, baseline_mm=60.0)[0]
    uv = project(X * torch.tensor([1.0, 1.0, 10.0], dtype=torch.float64), P)  # far: a few px of disparity
    moved = uv.clone()
    moved[:, 1, :, 1] += torch.linspace(-3, 3, 17, dtype=torch.float64)
    torch.testing.assert_close(
        sampson_sq(moved, fundamental_matrix(P)),
        torch.linspace(-3, 3, 17, dtype=torch.float64).expand(4, 17) ** 2 / 2,
    )
    moved[0, 0, 3] = float("nan")
    assert torch.isnan(sampson_sq(moved, fundamental_matrix(P))[0, 3])
