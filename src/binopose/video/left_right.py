"""Left/right label swaps between the two views: which frames to repair, and how.

Single-image detectors (BlazePose) now and then label the subject's left side as right in one view.
Swapping one view's labels changes where its lateral joints lie across the epipolar lines, and nothing
else, so the evidence for a swap is how much closer to the epipolar geometry the swapped labels are.
It is measured by the Sampson distance (:func:`binopose.geometry.stereo.sampson_sq`), which needs no 3D
point: a triangulation's reprojection error is no noise measure where the disparity is comparable to
the noise (far people, short baselines): rays that nearly meet put points behind the cameras.

A frame is repaired when the swapped labels' summed squared distance is below :data:`SWAP_RATIO` times
the unswapped one (the generalised likelihood ratio test of two labellings under Gaussian noise of
unknown level), and the improvement exceeds what pixel rounding alone could give. Where the swap moves
no joint across the epipolar lines (a symmetric person in front of a rectified pair, a side view), the
labellings cannot be told apart, and the frame is left as detected (but for the test's false alarms:
about 1 frame in 300 there, with Gaussian noise).
"""

from __future__ import annotations

import torch

from binopose.geometry import triangulate
from binopose.geometry.stereo import fundamental_matrix, sampson_sq
from binopose.skeleton import flip_permutation

#: Repair when the swapped labels' summed squared Sampson distance is below this fraction of the
#: unswapped one. With right labels, in the worst case (the swap moves no joint across the epipolar
#: lines) and Gaussian noise, the ratio falls this low in about 1 frame in 300 with all 17 joints seen
#: and 1 in 85 with one left/right pair and the 5 central joints. A stricter 0.25 (1 in 9,000) missed
#: real repairs: BlazePose's swaps are often partial (legs, not arms), and on the Pose2Sim capture it
#: left 3 of 96 swapped frames (cam01-cam02: 98 mm instead of 61). docs/ROBUSTNESS.md, "Left/right
#: repair", has both measured over distance, baseline and noise.
SWAP_RATIO = 0.4

#: px^2 per coordinate: the least noise of a keypoint given in pixels (rounding to the pixel grid,
#: 1/12 px^2). The unswapped sum is taken to be at least what this noise gives, so that exact or
#: nearly exact keypoints (agreement to float precision either way) are never repaired.
MIN_NOISE_PX2 = 1.0 / 12.0


def swap_evidence(
    uv: torch.Tensor, conf: torch.Tensor, P: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N,) summed squared Sampson distances (px^2) of the labels as given and with the right view's
    left/right labels swapped, over the (N,) number of joints seen in both views under both labellings.

    ``uv``: (N, 2, 17, 2) ideal pixels; ``conf``: (N, 2, 17), 0 = not seen; ``P``: (2, 3, 4) or (N, 2, 3, 4).
    """
    perm = torch.as_tensor(flip_permutation())
    seen = torch.isfinite(uv).all(-1) & (conf > 0)  # (N, 2, 17)
    F = fundamental_matrix(P)
    d, d_s = sampson_sq(uv, F), sampson_sq(_swap_right(uv, perm), F)
    both = seen[:, 0] & seen[:, 1] & seen[:, 1][:, perm] & torch.isfinite(d) & torch.isfinite(d_s)
    zero = torch.zeros((), dtype=d.dtype)
    return torch.where(both, d, zero).sum(1), torch.where(both, d_s, zero).sum(1), both.sum(1)


def swap_decision(
    uv: torch.Tensor, conf: torch.Tensor, P: torch.Tensor, ratio: float = SWAP_RATIO
) -> torch.Tensor:
    """(N,) bool: frames whose right view's labels fit the left view significantly better swapped."""
    s, s_swapped, n = swap_evidence(uv, conf, P)
    floor = torch.maximum(s, n * MIN_NOISE_PX2)
    return (s - s_swapped > (1 - ratio) * floor) & (n > 0)


def _swap_right(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    out = x.clone()
    out[:, 1] = x[:, 1][:, perm]
    return out


def fix_left_right(
    uv: torch.Tensor,
    conf: torch.Tensor,
    P: torch.Tensor,
    ratio: float = SWAP_RATIO,
    index: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Repair frames where one view's detector swapped the subject's left and right.

    A frame is repaired when :func:`swap_decision` finds that the swapped labels fit significantly
    better. Two views show only that they disagree, not which one is wrong; the frames are taken to be
    a sequence and the labelling (swap the right view, or the left one) whose 3D pose is closer to the
    nearest frame where the views agreed wins. Returns the repaired (uv, conf) and the (N,) bool mask of
    repaired frames. ``uv``: (N, 2, 17, 2) ideal pixels, ``conf``: (N, 2, 17), ``P``: (2, 3, 4) one rig,
    or (N, 2, 3, 4) a rig per frame. ``index``: (N,) positions of the frames in the sequence (default
    0..N-1; a chunk of a long sequence passes its own, with the nearest agreeing frames before and after
    it).
    """
    perm = torch.as_tensor(flip_permutation())
    uv_s, conf_s = _swap_right(uv, perm), _swap_right(conf, perm)
    swap = swap_decision(uv, conf, P, ratio)
    good = torch.nonzero(~swap).flatten()
    if swap.any() and len(good):
        i = torch.nonzero(swap).flatten()
        pos = torch.arange(len(swap)) if index is None else torch.as_tensor(index)
        nearest = good[_nearest(pos[good], pos[i])]
        P_i, P_g = (P, P) if P.dim() == 3 else (P[i], P[nearest])  # one rig, or a rig per frame
        X_s, X_g = triangulate(uv_s[i], P_i, conf_s[i]), triangulate(uv[nearest], P_g, conf[nearest])
        d_right = torch.nanmean((X_s - X_g).norm(dim=-1), dim=1)
        d_left = torch.nanmean((X_s[:, perm] - X_g).norm(dim=-1), dim=1)
        left_wrong = i[d_left < d_right]  # swap the left view instead: mirror both views' labels
        uv_s[left_wrong], conf_s[left_wrong] = uv_s[left_wrong][:, :, perm], conf_s[left_wrong][:, :, perm]
    m = swap[:, None, None, None]
    return torch.where(m, uv_s, uv), torch.where(m[..., 0], conf_s, conf), swap


def _nearest(sorted_pos: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Index into ``sorted_pos`` of the position nearest each query (the earlier one on a tie), without
    a (queries x positions) matrix."""
    right = torch.searchsorted(sorted_pos, query).clamp(max=len(sorted_pos) - 1)
    left = (right - 1).clamp(min=0)
    take_left = (query - sorted_pos[left]).abs() <= (sorted_pos[right] - query).abs()
    return torch.where(take_left, left, right)
