"""Joint-definition offsets in a body frame: a detector's "pelvis" or "head" is not the skeleton's.

Such offsets are 3D vectors that turn with the body, so they are fitted and applied in a frame made
from the pose itself (origin: pelvis; x: right hip -> left hip; z: pelvis -> thorax, orthogonalised;
y = z x x). The per-frame mean residual is removed before averaging, so a global shift of the whole
body (which differs between subjects and rigs) is not learned as an offset.
"""

from __future__ import annotations

import numpy as np

from binopose.skeleton import DEFINITION_JOINTS, NUM_JOINTS, ROOT

_RHIP, _LHIP, _THORAX = 2, 3, 8


def body_frames(X: np.ndarray, up_from: str = "pelvis") -> np.ndarray:
    """(N, 17, 3) poses -> (N, 3, 3) rotations whose columns are the body axes (x, y, z); ``up_from``:
    the z axis points from the pelvis (or from the hips' midpoint, "hips", which joint conventions
    agree on better) to the thorax."""
    X = np.asarray(X, np.float64)
    x = X[:, _LHIP] - X[:, _RHIP]
    x /= np.linalg.norm(x, axis=-1, keepdims=True) + 1e-9
    base = X[:, ROOT] if up_from == "pelvis" else (X[:, _LHIP] + X[:, _RHIP]) / 2
    up = X[:, _THORAX] - base
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


#: frames of prior weight in :func:`keep_definitions`: a short input keeps less of its own estimate
KEEP_PRIOR_FRAMES = 10.0

#: the joints whose definitions ``definitions="keep-torso"`` keeps: those that differ between datasets
#: (:data:`binopose.skeleton.DEFINITION_JOINTS`) and the pelvis
TORSO_JOINTS: tuple[int, ...] = tuple(sorted((*DEFINITION_JOINTS, ROOT)))


def kept_joints(definitions: str) -> np.ndarray | None:
    """(17,) bool: the joints whose definition the refiner's output keeps under ``definitions``
    (:data:`binopose.refine_options.DEFINITIONS`): every joint ("keep"), the torso's ("keep-torso": at
    ankles, knees, wrists and elbows the systematic part of the correction stays), or None ("model":
    nothing is kept)."""
    if definitions == "model":
        return None
    mask = np.ones(NUM_JOINTS, bool)
    if definitions == "keep-torso":
        mask[:] = False
        mask[list(TORSO_JOINTS)] = True
    return mask


def keep_definitions(
    refined: np.ndarray,
    triangulated: np.ndarray,
    prior_frames: float = KEEP_PRIOR_FRAMES,
    joints: np.ndarray | None = None,
) -> np.ndarray:
    """Take the systematic, body-fixed part out of a refiner's correction, so that the output keeps the
    detector's joint definitions (where it puts the hips, the head, the pelvis) instead of the
    definitions the refiner was trained on.

    With d_n = R_n^T (refined_n - triangulated_n) per joint (R_n: the body frame of the refined pose,
    :func:`body_frames`), the systematic part is s = N / (N + prior_frames) * mean_n d_n over the N
    frames of one input (a recording), and the output is refined_n - R_n s: corrections that differ
    from frame to frame (noise removed) stay, a correction every frame gets (a definition) goes.

    Args:
        refined, triangulated: (N, 17, 3) mm, the refiner's output and the plain triangulation of the
            same 2D input. prior_frames: shrinkage of the mean toward zero (0: none). joints: (17,)
            bool, the joints whose definitions are kept (None: all; :func:`kept_joints`).
    Returns:
        (N, 17, 3) mm. The mean comes from the frames where both inputs are whole; a frame with a
        missing joint has the same offset taken out of its other joints where its refined pose still
        has a body frame (both hips and the thorax), and is the triangulation where it has none.
    """
    F = np.asarray(refined, np.float64)
    R, d, ok = body_corrections(F, triangulated)
    n = float(ok.sum())
    s = d.mean(0) * n / (n + prior_frames) if ok.any() else np.zeros((NUM_JOINTS, 3))
    return remove_body_offset(F, R, s, ok, joints, triangulated)


def body_corrections(
    refined: np.ndarray, triangulated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The correction in each refined pose's body frame (:func:`keep_definitions`): body frames R
    (M, 3, 3), corrections d = R^T (refined - triangulated) (M, 17, 3) of the M frames where both inputs
    are finite, and that (N,) mask."""
    F = np.asarray(refined, np.float64)
    T = np.asarray(triangulated, np.float64)
    if F.shape != T.shape or F.ndim != 3 or F.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"keep_definitions: expected two (N, 17, 3) arrays, got {F.shape} and {T.shape}")
    ok = np.isfinite(F).all((1, 2)) & np.isfinite(T).all((1, 2))
    if not ok.any():
        return np.zeros((0, 3, 3)), np.zeros((0, NUM_JOINTS, 3)), ok
    R = body_frames(F[ok], up_from="hips")
    return R, np.einsum("nij,nki->nkj", R, F[ok] - T[ok]), ok  # R^T (F - T) per joint


def remove_body_offset(
    refined: np.ndarray,
    R: np.ndarray,
    s: np.ndarray,
    ok: np.ndarray,
    joints: np.ndarray | None,
    triangulated: np.ndarray,
) -> np.ndarray:
    """``refined`` (N, 17, 3) with the body-fixed offset ``s`` (17, 3) taken out, at the joints
    ``joints`` ((17,) bool; None: all): in the whole frames ``ok`` turned by their body frames ``R``
    (M, 3, 3) (:func:`body_corrections`); in a frame with a missing joint by its own body frame where it
    has one (both hips and the thorax), and where it has none the frame is ``triangulated``'s, whose
    definitions are the detector's. (Before 2026-12-03 such frames kept the refiner's definitions.)"""
    out = np.array(refined, np.float64)
    if joints is not None:
        s = np.where(np.asarray(joints, bool)[:, None], s, 0.0)
    out[ok] = out[ok] - np.einsum("nij,kj->nki", R, s)
    rest = np.flatnonzero(~ok)
    if rest.size:
        framed = np.isfinite(out[rest][:, [_RHIP, _LHIP, _THORAX]]).all((1, 2))
        if framed.any():
            Rf = body_frames(out[rest[framed]], up_from="hips")
            out[rest[framed]] -= np.einsum("nij,kj->nki", Rf, s)
        out[rest[~framed]] = np.asarray(triangulated, np.float64)[rest[~framed]]
    return out
