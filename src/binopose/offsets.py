"""Joint-definition offsets in a body frame: a detector's "pelvis" or "head" is not the skeleton's.

Such offsets are 3D vectors that turn with the body, so they are fitted and applied in a frame made
from the pose itself (origin: pelvis; x: right hip -> left hip; z: pelvis -> thorax, orthogonalised;
y = z x x). The per-frame mean residual is removed before averaging, so a global shift of the whole
body (which differs between subjects and rigs) is not learned as an offset.
"""

from __future__ import annotations

import numpy as np

from binopose.skeleton import NUM_JOINTS, ROOT

_RHIP, _LHIP, _THORAX = 2, 3, 8


def body_frames(X: np.ndarray) -> np.ndarray:
    """(N, 17, 3) poses -> (N, 3, 3) rotations whose columns are the body axes (x, y, z)."""
    X = np.asarray(X, np.float64)
    x = X[:, _LHIP] - X[:, _RHIP]
    x /= np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9
    up = X[:, _THORAX] - X[:, ROOT]
    z = up - (up * x).sum(-1, keepdims=True) * x
    z /= np.linalg.norm(z, axis=-1, keepdims=True) + 1e-9
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def fit_body_offsets(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean body-frame residual per joint, (17, 3) mm, from (N, 17, 3) predictions and ground truth."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    ok = np.isfinite(pred).all((1, 2)) & np.isfinite(gt).all((1, 2))
    if not ok.any():
        return np.zeros((NUM_JOINTS, 3))
    r = gt[ok] - pred[ok]
    r -= r.mean(1, keepdims=True)
    R = body_frames(pred[ok])
    return np.einsum("nij,nki->nkj", R, r).mean(0)  # R^T r per joint


def apply_body_offsets(pred: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Add body-frame offsets (17, 3) to poses (N, 17, 3)."""
    R = body_frames(pred)
    return np.asarray(pred, np.float64) + np.einsum("nij,kj->nki", R, np.asarray(offsets, np.float64))
