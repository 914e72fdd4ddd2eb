"""The canonical 17-joint skeleton (Human3.6M / learnable-triangulation order).

Every array in binopose that has a joint axis uses this order (see ``BENCHMARK.md``).
The skeleton is data: names, parents, left/right pairs; everything else is derived.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

T = TypeVar("T")

JOINT_NAMES: tuple[str, ...] = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "spine",
    "thorax",
    "head",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "neck_nose",
)
NUM_JOINTS = len(JOINT_NAMES)
ROOT = 6
PARENTS: tuple[int, ...] = (1, 2, 6, 6, 3, 4, -1, 6, 7, 16, 11, 12, 8, 8, 13, 14, 8)

#: (right, left) joint index pairs.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))

#: (child, parent) for every joint but the root: the 16 bones.
BONES: tuple[tuple[int, int], ...] = tuple((j, p) for j, p in enumerate(PARENTS) if p >= 0)


def _bone_index(child: int) -> int:
    return [c for c, _ in BONES].index(child)


#: Pairs of bone indices (into ``BONES``) that mirror each other, for the symmetry error.
SYMMETRIC_BONES: tuple[tuple[int, int], ...] = tuple(
    (_bone_index(r), _bone_index(l)) for r, l in LEFT_RIGHT_PAIRS
)


RIGHT_HIP, LEFT_HIP = 2, 3

#: joints whose definitions differ between datasets (hips, spine, thorax, head, shoulders, neck/nose):
#: training varies them (binopose.data.synth); ankles, knees, wrists and elbows are joint centres
DEFINITION_JOINTS: tuple[int, ...] = (2, 3, 7, 8, 9, 12, 13, 16)


def root_from_hips(kp: T) -> T:
    """The pelvis (root) set to the midpoint of the hips, for keypoints (..., 17, D) (numpy or torch).

    Many 2D detectors have no pelvis (COCO, MediaPipe) and those that have one define it their own way
    (MHAD's detector: ~100 mm off the ground truth); the hips are detected well by all of them. Where
    a hip is missing (NaN) the given pelvis is kept. A copy is returned; the input is left alone."""
    out = kp.clone() if hasattr(kp, "clone") else kp.copy()
    mid = (kp[..., RIGHT_HIP, :] + kp[..., LEFT_HIP, :]) / 2
    missing = mid != mid  # NaN, for numpy and torch alike
    mid[missing] = kp[..., ROOT, :][missing]
    out[..., ROOT, :] = mid
    return out


def flip_permutation() -> np.ndarray:
    """Joint permutation that swaps left and right (use with a mirrored x axis)."""
    perm = np.arange(NUM_JOINTS)
    for r, l in LEFT_RIGHT_PAIRS:
        perm[r], perm[l] = l, r
    return perm


def adjacency(self_loops: bool = False) -> np.ndarray:
    """Symmetric (17, 17) 0/1 adjacency matrix of the bones, float32."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for c, p in BONES:
        a[c, p] = a[p, c] = 1.0
    if self_loops:
        a += np.eye(NUM_JOINTS, dtype=np.float32)
    return a
