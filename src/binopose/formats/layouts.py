"""2D keypoint layouts of other tools, as data, and their conversion to binopose's 17 joints.

A layout is the list of its keypoint names in file order. Every canonical joint (``binopose.skeleton``
order) is a fixed weighted sum of a layout's keypoints, the same rule for every layout:

- hips, knees, ankles, shoulders, elbows, wrists: the keypoint of that name;
- pelvis = midpoint of the hips (a detector's own "MidHip"/"hip" point is not used: each defines it
  its own way, the hips are detected well by all);
- thorax = midpoint of the shoulders (OpenPose's "Neck" and HALPE's "neck" are close to it);
- spine = midway between pelvis and thorax;
- head = midpoint of the ears (as binopose's MediaPipe detector does; HALPE's "head" is the top of
  the head, not used);
- neck_nose = the nose.

A joint's confidence is the lowest of its keypoints'; a keypoint with confidence 0 or NaN pixels (or
OpenPose's (0, 0, 0) for "not found") makes the joint missing (NaN, confidence 0).
"""

from __future__ import annotations

import numpy as np

from binopose.errors import BinoposeError
from binopose.skeleton import JOINT_NAMES, NUM_JOINTS

_COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
_FEET6 = ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel")

#: layout name -> keypoint names in file order
LAYOUTS: dict[str, tuple[str, ...]] = {
    "binopose17": JOINT_NAMES,
    "coco17": _COCO17,
    # HALPE-26 (Pose2Sim's default, RTMPose body_with_feet / AlphaPose)
    "halpe26": (
        *_COCO17, "head", "neck", "hip", "left_big_toe", "right_big_toe", "left_small_toe",
        "right_small_toe", "left_heel", "right_heel",
    ),
    # COCO-WholeBody: body 17, feet 6, face 68, hands 2 x 21 (Pose2Sim's "whole_body")
    "coco133": (
        *_COCO17, *_FEET6, *(f"face_{i}" for i in range(68)),
        *(f"left_hand_{i}" for i in range(21)), *(f"right_hand_{i}" for i in range(21)),
    ),
    # OpenPose BODY_25
    "body25": (
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
        "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe",
        "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    ),
    # MediaPipe Pose / BlazePose
    "mediapipe33": (
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
        "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
        "left_foot_index", "right_foot_index",
    ),
}  # fmt: skip
ALIASES = {"h36m17": "binopose17", "coco": "coco17", "halpe": "halpe26", "openpose": "body25",
           "mediapipe": "mediapipe33", "blazepose": "mediapipe33", "wholebody": "coco133"}  # fmt: skip

_HIPS = {"left_hip": 0.5, "right_hip": 0.5}
_SHOULDERS = {"left_shoulder": 0.5, "right_shoulder": 0.5}
#: canonical joint -> {keypoint name: weight}, for layouts other than binopose17
_RECIPE: dict[str, dict[str, float]] = {
    "pelvis": _HIPS,
    "spine": {k: 0.25 for k in (*_HIPS, *_SHOULDERS)},
    "thorax": _SHOULDERS,
    "head": {"left_ear": 0.5, "right_ear": 0.5},
    "neck_nose": {"nose": 1.0},
}


def layout_names() -> list[str]:
    return sorted(LAYOUTS)


def resolve(declared: str | None, requested: str | None, n_joints: int, where: str) -> str:
    """The layout of a keypoint array with ``n_joints`` per view: the one the file declares, or the one
    the user names (``--layout``); both, they must agree; neither: refused (the joint count alone does
    not tell layouts apart: COCO-17 and binopose's 17 joints, BODY_25 and BODY_25B)."""
    names = [ALIASES.get(x.lower(), x.lower()) if x else None for x in (declared, requested)]
    for n in names:
        if n is not None and n not in LAYOUTS:
            raise BinoposeError(
                f"{where}: unknown keypoint layout {n!r} (known: {', '.join(layout_names())})"
            )
    declared, requested = names
    if declared and requested and declared != requested:
        raise BinoposeError(f"{where}: the file declares layout {declared!r} but --layout says {requested!r}")
    layout = declared or requested
    if layout is None:
        fits = [k for k, v in LAYOUTS.items() if len(v) == n_joints]
        hint = f" ({', '.join(fits)} {'has' if len(fits) == 1 else 'have'} {n_joints})" if fits else ""
        raise BinoposeError(
            f"{where}: {n_joints} keypoints per view and no declared layout; give --layout{hint}"
        )
    if len(LAYOUTS[layout]) != n_joints:
        raise BinoposeError(
            f"{where}: layout {layout!r} has {len(LAYOUTS[layout])} keypoints, the file has {n_joints} per view"
        )
    return layout


def mapping(layout: str) -> np.ndarray:
    """(17, K) matrix W with ``joints17 = W @ keypoints`` for a layout of K keypoints."""
    names = LAYOUTS[layout]
    W = np.zeros((NUM_JOINTS, len(names)))
    for j, joint in enumerate(JOINT_NAMES):
        recipe = {joint: 1.0} if layout == "binopose17" else _RECIPE.get(joint, {joint: 1.0})
        for name, w in recipe.items():
            W[j, names.index(name)] = w
    return W


def to_canonical(
    kp: np.ndarray, conf: np.ndarray | None, layout: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """(..., K, 2) pixels and (..., K) confidences (or None) of ``layout`` -> (..., 17, 2) and (..., 17).

    A keypoint with confidence 0 (or NaN pixels) is missing; a joint built from a missing keypoint is NaN
    with confidence 0."""
    if layout == "binopose17":
        return kp, conf
    W = mapping(layout)
    missing = ~np.isfinite(kp).all(-1)
    if conf is not None:
        missing |= ~(conf > 0)
    used = W != 0  # (17, K)
    joint_missing = (used & missing[..., None, :]).any(-1)  # (..., 17)
    out = np.einsum("jk,...kd->...jd", W, np.where(missing[..., None], 0.0, kp))
    out[joint_missing] = np.nan
    if conf is None:
        return out, None
    c = np.where(used, np.nan_to_num(conf, nan=0.0)[..., None, :], np.inf).min(-1)
    return out, np.where(joint_missing, 0.0, c)
