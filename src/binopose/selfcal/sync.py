"""Frame offset between two cameras from one person's 2D joints.

Convention (as ``binopose run --offset``): right frame ``i + offset`` shows the instant of left frame ``i``.

1. Motion: per joint, the image speed |uv[t+1] - uv[t]|, z-scored per joint (NaN-robust); the
   cross-correlation of the two views' speeds at every offset in the range.
2. Epipolar consistency at every offset: with a rig, the median symmetric epipolar distance (px) of
   the paired joints after a small rotation of the right camera about its centre is refitted to them
   (a calibration error looks like such a rotation, a time shift does not); without one, the share of paired joints that are RANSAC inliers of a fundamental
   matrix fitted at that offset (as a cost, 1 - share), at the offsets around the six highest
   correlation peaks only (a RANSAC fit per offset is slow).
3. The offset with the lowest epipolar cost wins; the correlation decides only where the epipolar cost
   cannot be computed (fewer than 30 paired joints). Sub-frame by a parabola through the cost at the
   best offset and its two neighbours. Confidence: 1 - best cost / second-best cost, the second best
   taken at least 2 frames away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.geometry.rotations import rodrigues_to_matrix
from binopose.geometry.stereo import fundamental_matrix

#: with a rig, the epipolar cost of each joint is taken about its median over the frames
CENTRED = False
#: with a rig, a small rotation of the right camera about its centre is refitted at every offset (the
#: default since the rule of 2026-12-03 21:37 UTC: docs/SELFCAL.md)
REFIT = True
#: robust scale (px) of the refit's loss, and its most Gauss-Newton steps
REFIT_SCALE_PX = 2.0
REFIT_ITERATIONS = 10


@dataclass(frozen=True)
class SyncResult:
    offset: int
    subframe: float  # offset + parabolic refinement (equal to offset when the curve does not allow it)
    confidence: float  # 0..1
    method: str  # "epipolar (rig)", "fundamental (RANSAC)" or "speed correlation"
    offsets: np.ndarray  # (D,) candidates
    correlation: np.ndarray  # (D,) speed cross-correlation
    cost: np.ndarray  # (D,) epipolar cost (NaN where not computable)

    def describe(self) -> str:
        return (
            f"offset {self.offset:+d} frames (sub-frame {self.subframe:+.2f}), confidence {self.confidence:.2f}, "
            f"by {self.method}"
        )


def _pairs(n_left: int, n_right: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(max(0, -offset), min(n_left, n_right - offset))
    return i, i + offset


def speed_signal(kp: np.ndarray) -> np.ndarray:
    """(T, J, 2) pixels (NaN = missed) -> (T, J) joint speeds, z-scored per joint; NaN where unknown."""
    v = np.linalg.norm(np.diff(kp, axis=0), axis=-1)
    v = np.concatenate([v, np.full((1, kp.shape[1]), np.nan)])
    with np.errstate(all="ignore"):
        z = (v - np.nanmean(v, 0)) / (np.nanstd(v, 0) + 1e-9)
    return z


def speed_correlation(kp_left: np.ndarray, kp_right: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(D,) mean product of the two views' z-scored joint speeds at each offset (NaN-robust)."""
    zl, zr = speed_signal(kp_left), speed_signal(kp_right)
    out = np.full(len(offsets), np.nan)
    for k, d in enumerate(offsets):
        i, j = _pairs(len(zl), len(zr), int(d))
        p = zl[i] * zr[j]
        if np.isfinite(p).sum() >= 10:
            out[k] = np.nanmean(p)
    return out


def _fundamental(rig: StereoRig) -> np.ndarray:
    """The rig's fundamental matrix (:func:`binopose.geometry.stereo.fundamental_matrix`)."""
    return fundamental_matrix(rig.projection_matrices(torch.float64)).numpy()


def symmetric_epipolar_px(ul: np.ndarray, ur: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(M, 2), (M, 2) pixels -> (M,) mean of the two point-to-epipolar-line distances (px)."""
    hl = np.concatenate([ul, np.ones((len(ul), 1))], 1)
    hr = np.concatenate([ur, np.ones((len(ur), 1))], 1)
    lr, ll = hl @ F.T, hr @ F
    num = np.abs((hr * lr).sum(1))
    return 0.5 * (num / np.hypot(lr[:, 0], lr[:, 1]) + num / np.hypot(ll[:, 0], ll[:, 1]))


def signed_epipolar_px(ul: np.ndarray, ur: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(M, 2), (M, 2) pixels -> (M,) mean of the two signed point-to-epipolar-line distances (px)."""
    hl = np.concatenate([ul, np.ones((len(ul), 1))], 1)
    hr = np.concatenate([ur, np.ones((len(ur), 1))], 1)
    lr, ll = hl @ F.T, hr @ F
    num = (hr * lr).sum(1)
    return 0.5 * (num / np.hypot(lr[:, 0], lr[:, 1]) + num / np.hypot(ll[:, 0], ll[:, 1]))


def centred_epipolar_px(ul: np.ndarray, ur: np.ndarray, joint: np.ndarray, F: np.ndarray) -> np.ndarray:
    """(M,) signed epipolar distances minus each joint's median over its frames, absolute: a distance
    that every frame of a joint shares (a calibration error, a view-dependent joint definition) is no
    sign of a time shift."""
    s = signed_epipolar_px(ul, ur, F)
    out = np.full(len(s), np.nan)
    for j in np.unique(joint):
        m = joint == j
        if m.sum() >= 3:
            out[m] = np.abs(s[m] - np.median(s[m]))
    return out[np.isfinite(out)]


def refit_epipolar_px(ul: np.ndarray, ur: np.ndarray, rig: StereoRig) -> np.ndarray:
    """(M,) symmetric epipolar distances (px) after the right camera of ``rig`` is turned about its
    centre by the small rotation that fits the pairs best (robust least squares, 3 degrees of
    freedom; the baseline direction seen from the left camera stays): a calibration error that looks
    like a camera rotation is taken out, a time shift, which moves the joints apart, is not."""
    Kl, Kr = rig.left.K, rig.right.K
    E = _cross(rig.t_right_from_left) @ rig.R_right_from_left
    Kl_inv, Kr_inv_t = np.linalg.inv(Kl), np.linalg.inv(Kr).T

    def signed(w: np.ndarray) -> np.ndarray:  # X_r' = D X_r: E' = [D t]x D R = D E
        return signed_epipolar_px(ul, ur, Kr_inv_t @ rodrigues_to_matrix(w) @ E @ Kl_inv)

    w, step = np.zeros(3), 1e-6
    for _ in range(REFIT_ITERATIONS):  # Gauss-Newton, reweighted for a soft-L1 loss
        r = signed(w)
        J = np.stack([(signed(w + step * e) - r) / step for e in np.eye(3)], 1)
        sw = (1.0 + (r / REFIT_SCALE_PX) ** 2) ** -0.25  # square roots of the soft-L1 weights
        dw = np.linalg.lstsq(J * sw[:, None], -r * sw, rcond=None)[0]
        w = w + dw
        if np.linalg.norm(dw) < 1e-9:
            break
    return np.abs(signed(w))


def _cross(v: np.ndarray) -> np.ndarray:
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], dtype=np.float64)


def _paired(kp_left: np.ndarray, kp_right: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The finite joints seen in both views at offset ``d``: (M, 2), (M, 2) pixels and (M,) joint index."""
    i, j = _pairs(len(kp_left), len(kp_right), d)
    a, b = kp_left[i].reshape(-1, 2), kp_right[j].reshape(-1, 2)
    joint = np.tile(np.arange(kp_left.shape[1]), len(i))
    ok = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    return a[ok], b[ok], joint[ok]


def _shortlist(corr: np.ndarray, peaks: int = 6, reach: int = 2) -> np.ndarray:
    """(D,) bool: the ``peaks`` highest local maxima of the correlation and ``reach`` offsets around each."""
    c = np.nan_to_num(corr, nan=-np.inf)
    is_peak = (c >= np.roll(c, 1)) & (c >= np.roll(c, -1)) & np.isfinite(c)
    top = np.flatnonzero(is_peak)[np.argsort(-c[is_peak])][:peaks]
    keep = np.zeros(len(c), bool)
    for k in top:
        keep[max(0, k - reach) : k + reach + 1] = True
    return keep


def epipolar_cost(
    kp_left: np.ndarray,
    kp_right: np.ndarray,
    offsets: np.ndarray,
    rig: StereoRig | None,
    thresh_px: float = 4.0,
    only: np.ndarray | None = None,
    K: np.ndarray | None = None,
    centred: bool = CENTRED,
    refit: bool = REFIT,
) -> np.ndarray:
    """(D,) epipolar cost at each offset (lower is better; NaN with fewer than 30 paired joints or
    where ``only`` (D,) bool is False). Without a rig but with intrinsics K (2, 3, 3), an essential
    matrix (5 degrees of freedom) is fitted instead of a fundamental matrix (7). With a rig and
    ``centred``, each joint's distances are taken about their median (:func:`centred_epipolar_px`);
    with ``refit``, after the right camera's rotation is refitted (:func:`refit_epipolar_px`)."""
    import cv2

    F = _fundamental(rig) if rig is not None else None
    if F is None and K is not None:
        from binopose.selfcal.essential import normalized

        f = float(np.mean([K[0][0, 0], K[1][0, 0]]))
        kp_left, kp_right = normalized(kp_left, K[0]), normalized(kp_right, K[1])
    out = np.full(len(offsets), np.nan)
    for k, d in enumerate(offsets):
        if only is not None and not only[k]:
            continue
        a, b, joint = _paired(kp_left, kp_right, int(d))
        if len(a) < 30:
            continue
        if F is not None:
            if refit:
                dist = refit_epipolar_px(a, b, rig)  # type: ignore[arg-type]
            elif centred:
                dist = centred_epipolar_px(a, b, joint, F)
            else:
                dist = symmetric_epipolar_px(a, b, F)
            out[k] = float(np.median(dist)) if len(dist) else np.nan
            continue
        cv2.setRNGSeed(0)
        try:
            if K is not None:
                _, mask = cv2.findEssentialMat(a, b, 1.0, (0.0, 0.0), cv2.RANSAC, 0.99, thresh_px / f, 300)
            else:
                _, mask = cv2.findFundamentalMat(a, b, cv2.FM_RANSAC, thresh_px, 0.99, 300)
        except cv2.error:  # a degenerate sample (e.g. a person standing still): no model at this offset
            mask = None
        out[k] = 1.0 - (float(mask.mean()) if mask is not None else 0.0)
    return out


def _subframe(cost: np.ndarray, k: int) -> float:
    if 0 < k < len(cost) - 1 and np.isfinite(cost[k - 1 : k + 2]).all():
        c0, c1, c2 = cost[k - 1 : k + 2]
        den = c0 - 2 * c1 + c2
        if den > 1e-12:
            return float(np.clip(0.5 * (c0 - c2) / den, -0.5, 0.5))
    return 0.0


def find_offset(
    kp_left: np.ndarray,
    kp_right: np.ndarray,
    max_offset: int = 30,
    rig: StereoRig | None = None,
    conf_left: np.ndarray | None = None,
    conf_right: np.ndarray | None = None,
    min_conf: float = 0.3,
    K: np.ndarray | None = None,
    centred: bool = CENTRED,
    refit: bool = REFIT,
) -> SyncResult:
    """The frame offset of the right camera relative to the left, from (T, J, 2) keypoints of each view.

    With ``rig`` (ideal pinhole pixels expected) the epipolar distance is used, else an essential matrix
    per offset when the intrinsics ``K`` (2, 3, 3) are given, else a fundamental matrix. Confidences below ``min_conf`` count as missed joints.
    """
    kl, kr = _masked(kp_left, conf_left, min_conf), _masked(kp_right, conf_right, min_conf)
    if kl.ndim != 3 or kr.ndim != 3 or kl.shape[1:] != kr.shape[1:] or kl.shape[-1] != 2:
        raise BinoposeError(f"synchronisation: expected two (T, J, 2) arrays, got {kl.shape} and {kr.shape}")
    offsets = np.arange(-max_offset, max_offset + 1)
    corr = speed_correlation(kl, kr, offsets)
    only = None if rig is not None else _shortlist(corr)
    cost = epipolar_cost(kl, kr, offsets, rig, only=only, K=K, centred=centred, refit=refit)
    if np.isfinite(cost).any():
        name = "essential (RANSAC)" if K is not None else "fundamental (RANSAC)"
        score, method = cost, "epipolar (rig)" if rig is not None else name
    elif np.isfinite(corr).any():
        score, method = -corr, "speed correlation"
    else:
        raise BinoposeError("synchronisation: the person is not seen in both views long enough to compare")
    k = int(np.nanargmin(score))
    far = np.abs(offsets - offsets[k]) >= 2
    second = np.nanmin(np.where(far, score, np.nan)) if np.isfinite(score[far]).any() else np.nan
    if method == "speed correlation":
        conf = float(np.clip((second - score[k]) / 2.0, 0, 1)) if np.isfinite(second) else 0.0
    else:
        conf = float(np.clip(1 - score[k] / second, 0, 1)) if np.isfinite(second) and second > 0 else 0.0
    sub = offsets[k] + _subframe(score, k)
    return SyncResult(int(offsets[k]), float(sub), conf, method, offsets, corr, cost)


def _masked(kp: np.ndarray, conf: np.ndarray | None, min_conf: float) -> np.ndarray:
    kp = np.array(kp, dtype=np.float64)
    if conf is not None:
        kp[np.nan_to_num(np.asarray(conf), nan=0.0) < min_conf] = np.nan
    return kp
