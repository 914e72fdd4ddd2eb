"""Metric scale from the person: a reconstruction up to scale (3D joints, baseline 1) -> millimetres.

Two estimates, both from the median over frames (robust to bad frames and missed joints):

* ``height``: the "stature chain" ankle-knee-hip (mean of the two legs) plus pelvis-thorax, against the
  same chain of a standard body of the given height. In Winter's body-segment proportions (D. A. Winter,
  *Biomechanics and Motor Control of Human Movement*, 4th ed., 2009, fig. 4.1) the chain is
  shank 0.246 H + thigh 0.245 H + hip joint to shoulder level 0.288 H = 0.779 H; the rest of the
  stature is the foot (0.039 H) and the neck and head (0.182 H), left out because detectors disagree
  about where the head joint is (head top, ears, nose).
* ``bones``: the eight limb bones (thighs, shanks, upper arms, forearms) against Winter's proportions
  of the same height (0.245, 0.246, 0.186, 0.146 H); the median ratio over the bones.

The height is the user's (``--person-height-mm``) or 1700 mm by default, about the mean adult stature;
a wrong height is a proportional scale error (a 1800 mm person read as 1700 mm: -5.6 %).
"""

from __future__ import annotations

import warnings

import numpy as np

from binopose.errors import BinoposeError

DEFAULT_HEIGHT_MM = 1700.0
#: fraction of the stature covered by ankle-knee-hip + pelvis-thorax (Winter 2009).
CHAIN_FRACTION = 0.779
#: (child, parent, fraction of stature) of the limb bones (Winter 2009).
LIMB_BONES: tuple[tuple[int, int, float], ...] = (
    (0, 1, 0.246), (5, 4, 0.246), (1, 2, 0.245), (4, 3, 0.245),
    (11, 12, 0.186), (14, 13, 0.186), (10, 11, 0.146), (15, 14, 0.146),
)  # fmt: skip
_PELVIS, _THORAX = 6, 8
_LEGS = ((0, 1, 2), (5, 4, 3))  # ankle, knee, hip


def _length(X: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(X[..., a, :] - X[..., b, :], axis=-1)


def stature_chain(X: np.ndarray) -> np.ndarray:
    """(N, 17, 3) poses -> (N,) ankle-knee-hip (mean of the legs) + pelvis-thorax length; NaN if missing."""
    legs = [_length(X, a, k) + _length(X, k, h) for a, k, h in _LEGS]
    with warnings.catch_warnings():  # a frame with neither leg is NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        leg = np.nanmean(np.stack(legs), axis=0)
    return leg + _length(X, _PELVIS, _THORAX)


def height_from_poses(X: np.ndarray) -> float:
    """The stature the chain implies: median chain / CHAIN_FRACTION (same units as X)."""
    c = stature_chain(X)
    c = c[np.isfinite(c)]
    if c.size == 0:
        raise BinoposeError(
            "no frame has the joints of the stature chain (ankles, knees, hips, pelvis, thorax)"
        )
    return float(np.median(c)) / CHAIN_FRACTION


def scale_from_height(X: np.ndarray, height_mm: float = DEFAULT_HEIGHT_MM) -> float:
    """Multiplier that takes X (any unit) to mm, for a person of ``height_mm``."""
    if not 500.0 <= height_mm <= 2600.0:
        raise BinoposeError(f"person height {height_mm} mm is implausible (expected 500-2600 mm)")
    return height_mm / height_from_poses(X)


def scale_from_bones(X: np.ndarray, height_mm: float = DEFAULT_HEIGHT_MM) -> float:
    """Multiplier to mm from the median limb-bone lengths against a standard body of ``height_mm``."""
    ratios = []
    for a, b, frac in LIMB_BONES:
        L = _length(X, a, b)
        L = L[np.isfinite(L)]
        if L.size:
            ratios.append(frac * height_mm / float(np.median(L)))
    if not ratios:
        raise BinoposeError("no frame has a complete limb bone; the scale cannot be found")
    return float(np.median(ratios))
