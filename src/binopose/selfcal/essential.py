"""Relative pose of two cameras from one person's 2D joints: robust essential matrix (OpenCV RANSAC on
all joints of all frames), a per-frame left/right label test, and ``cv2.recoverPose``.

Shapes: keypoints (N, 2, J, 2) ideal pinhole pixels (views first: left, right), validity (N, 2, J).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from binopose.errors import BinoposeError
from binopose.skeleton import flip_permutation


@dataclass(frozen=True)
class EssentialFit:
    """Result of :func:`estimate_relative_pose` (R, t: right camera from left camera, |t| = 1)."""

    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)
    kp: np.ndarray  # (N, 2, J, 2) the keypoints with the right view's labels swapped where that fits better
    flipped: np.ndarray  # (N,) bool: frames whose right-view left/right labels were swapped
    inliers: np.ndarray  # (N, J) bool: both views valid, epipolar error under the threshold, in front
    usable: np.ndarray  # (N, J) bool: both views valid, epipolar error under 3x the threshold
    candidates: int  # joints seen in both views
    sampson_px: np.ndarray  # (N, J) epipolar (Sampson) distance in px, NaN where not valid


def normalized(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 2) pixels -> (..., 2) normalised image coordinates K^-1 [u v 1]."""
    Ki = np.linalg.inv(K)
    return uv @ Ki[:2, :2].T + Ki[:2, 2]


def sampson_distance(xl: np.ndarray, xr: np.ndarray, E: np.ndarray) -> np.ndarray:
    """First-order geometric epipolar error of normalised points (..., 2) under x_r^T E x_l = 0."""
    hl = np.concatenate([xl, np.ones_like(xl[..., :1])], -1)
    hr = np.concatenate([xr, np.ones_like(xr[..., :1])], -1)
    El = hl @ E.T  # (..., 3) epipolar lines in the right image
    Er = hr @ E  # lines in the left image
    num = (hr * El).sum(-1)
    den = El[..., 0] ** 2 + El[..., 1] ** 2 + Er[..., 0] ** 2 + Er[..., 1] ** 2
    return np.abs(num) / np.sqrt(den + 1e-300)


def essential_from_pose(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return tx @ R


def _ransac(xl: np.ndarray, xr: np.ndarray, thresh: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    cv2.setRNGSeed(seed)
    E, mask = cv2.findEssentialMat(
        xl, xr, focal=1.0, pp=(0.0, 0.0), method=cv2.RANSAC, prob=0.9999, threshold=thresh
    )
    if E is None or E.shape[0] < 3:
        raise BinoposeError(
            "the essential matrix could not be estimated (too few or degenerate correspondences)"
        )
    return E[:3], mask.ravel().astype(bool)


def _per_frame_error(err: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        e = np.where(np.isfinite(err), err, np.nan)
        return np.nanmedian(np.where(np.isnan(e).all(1, keepdims=True), np.inf, e), axis=1)


def estimate_relative_pose(
    kp: np.ndarray,
    valid: np.ndarray,
    K: np.ndarray,
    thresh_px: float = 4.0,
    max_points: int = 30000,
    seed: int = 0,
) -> EssentialFit:
    """Robust relative pose from the joints of one person seen by two cameras.

    Args:
        kp: (N, 2, J, 2) ideal pinhole pixels; valid: (N, 2, J) bool; K: (2, 3, 3) intrinsics.
        thresh_px: RANSAC epipolar threshold in pixels (converted with the mean focal length).
        max_points: RANSAC runs on at most this many joints (evenly subsampled); all are scored.
    Returns:
        :class:`EssentialFit`. The right view's left/right labels are swapped in the frames where that
        halves the median epipolar error (two rounds: estimate, relabel, re-estimate).
    """
    f = float(np.mean([K[0][0, 0], K[0][1, 1], K[1][0, 0], K[1][1, 1]]))
    thresh = thresh_px / f
    xl, xr = normalized(kp[:, 0], K[0]), normalized(kp[:, 1], K[1])
    xr_flip = xr[:, flip_permutation()]
    both = valid[:, 0] & valid[:, 1]
    both_flip = valid[:, 0] & valid[:, 1][:, flip_permutation()]
    n_cand = int(both.sum())
    flipped = np.zeros(len(kp), bool)
    for _ in range(2):
        xr_cur = np.where(flipped[:, None, None], xr_flip, xr)
        ok = np.where(flipped[:, None], both_flip, both)
        idx = np.flatnonzero(ok.ravel())
        if idx.size < 8:
            raise BinoposeError(
                f"only {idx.size} joints are seen in both views; the relative pose needs many more"
            )
        sub = idx[np.linspace(0, idx.size - 1, min(max_points, idx.size)).astype(int)]
        E, _ = _ransac(xl.reshape(-1, 2)[sub], xr_cur.reshape(-1, 2)[sub], thresh, seed)
        e0 = np.where(both, sampson_distance(xl, xr, E), np.nan)
        e1 = np.where(both_flip, sampson_distance(xl, xr_flip, E), np.nan)
        flipped = _per_frame_error(e1) < 0.5 * _per_frame_error(e0)
    xr_cur = np.where(flipped[:, None, None], xr_flip, xr)
    ok = np.where(flipped[:, None], both_flip, both)
    err = np.where(ok, sampson_distance(xl, xr_cur, E), np.nan)
    inl = ok & (err < thresh)
    R, t, front = _recover(E, xl[inl], xr_cur[inl])
    inliers = inl.copy()
    inliers[inl] = front
    kp_fixed = kp.copy()
    kp_fixed[flipped, 1] = kp[flipped, 1][:, flip_permutation()]
    return EssentialFit(R, t, kp_fixed, flipped, inliers, ok & (err < 3 * thresh), n_cand, err * f)


def _recover(E: np.ndarray, xl: np.ndarray, xr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import cv2

    if len(xl) < 8:
        raise BinoposeError(
            f"only {len(xl)} joints agree with the epipolar geometry; the two views do not match"
        )
    n, R, t, mask = cv2.recoverPose(E, xl, xr, focal=1.0, pp=(0.0, 0.0))
    return R, t.ravel() / np.linalg.norm(t), mask.ravel() > 0
