"""2D person detectors behind one small interface, and the MediaPipe Pose (BlazePose) adapter.

A :class:`Detector` turns one BGR image into the canonical 17 joints (``binopose.skeleton``
order) in the image's pixels, plus a confidence per joint; NaN pixels and confidence 0 when
nobody is found. Detectors may track between frames, so use one instance per camera.

MediaPipe is optional: it is imported only when :class:`MediaPipeDetector` is built.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from binopose.errors import BinoposeError
from binopose.skeleton import JOINT_NAMES, NUM_JOINTS


@runtime_checkable
class Detector(Protocol):
    """One camera's 2D pose detector."""

    name: str

    def detect(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(H, W, 3) uint8 BGR image -> (17, 2) pixels (x right, y down) and (17,) confidences in [0, 1]."""
        ...

    def close(self) -> None: ...


def no_person() -> tuple[np.ndarray, np.ndarray]:
    """What a detector returns when it finds nobody: NaN pixels, confidence 0."""
    return np.full((NUM_JOINTS, 2), np.nan), np.zeros(NUM_JOINTS)


# --- BlazePose (33 landmarks) -> canonical 17 joints -----------------------------------------------
# BlazePose indices: 0 nose, 7/8 left/right ear, 11/12 shoulders, 13/14 elbows, 15/16 wrists,
# 23/24 hips, 25/26 knees, 27/28 ankles (the subject's left is the odd index).
#: (joint name, {landmark: weight}): every joint is a fixed linear combination of landmarks.
_MIDEARS = {7: 0.5, 8: 0.5}
_HEAD_TOP = {7: 0.75, 8: 0.75, 11: -0.25, 12: -0.25}  # mid-ears + 0.5 * (mid-ears - thorax)
_BLAZEPOSE_TO_17: tuple[tuple[str, dict[int, float]], ...] = (
    ("right_ankle", {28: 1.0}),
    ("right_knee", {26: 1.0}),
    ("right_hip", {24: 1.0}),
    ("left_hip", {23: 1.0}),
    ("left_knee", {25: 1.0}),
    ("left_ankle", {27: 1.0}),
    ("pelvis", {23: 0.5, 24: 0.5}),
    ("spine", {11: 0.25, 12: 0.25, 23: 0.25, 24: 0.25}),  # midway between pelvis and thorax
    ("thorax", {11: 0.5, 12: 0.5}),
    ("head", _MIDEARS),
    ("right_wrist", {16: 1.0}),
    ("right_elbow", {14: 1.0}),
    ("right_shoulder", {12: 1.0}),
    ("left_shoulder", {11: 1.0}),
    ("left_elbow", {13: 1.0}),
    ("left_wrist", {15: 1.0}),
    ("neck_nose", {0: 1.0}),
)
HEAD_MODES = ("ears", "top")


def blazepose_mapping(head: str = "ears") -> np.ndarray:
    """(17, 33) matrix W with ``joints17 = W @ landmarks33``.

    Args:
        head: "ears" = head at the midpoint of the ears (agrees with the Pose2Sim 4-view reference);
            "top" = a head-top estimate, mid-ears + half the thorax-to-mid-ears vector (closer to
            Human3.6M's head joint).
    """
    if head not in HEAD_MODES:
        raise BinoposeError(f"unknown head mode {head!r} (expected one of: {', '.join(HEAD_MODES)})")
    W = np.zeros((NUM_JOINTS, 33))
    for j, (name, src) in enumerate(_BLAZEPOSE_TO_17):
        assert name == JOINT_NAMES[j]
        for k, w in (_HEAD_TOP if name == "head" and head == "top" else src).items():
            W[j, k] = w
    return W


def blazepose_to_17(
    landmarks: np.ndarray, visibility: np.ndarray, head: str = "ears"
) -> tuple[np.ndarray, np.ndarray]:
    """Map BlazePose landmarks to the canonical 17 joints.

    Args:
        landmarks: (..., 33, 2) pixels. visibility: (..., 33) in [0, 1].
    Returns:
        (..., 17, 2) pixels and (..., 17) confidences: the minimum visibility of the landmarks a
        joint is built from.
    """
    if landmarks.shape[-2:] != (33, 2) or visibility.shape != landmarks.shape[:-1]:
        raise BinoposeError(
            f"expected landmarks (..., 33, 2) and visibility (..., 33), "
            f"got {landmarks.shape}, {visibility.shape}"
        )
    W = blazepose_mapping(head)
    kp = np.einsum("jk,...kd->...jd", W, landmarks)
    conf = np.where(W != 0, visibility[..., None, :], np.inf).min(-1)
    return kp, np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)


class MediaPipeDetector:
    """MediaPipe Pose (legacy ``mp.solutions.pose``, BlazePose full model, tracking between frames).

    ``model_complexity=1`` is the model bundled in the mediapipe 0.10.21 wheel; 0 and 2 download
    their model at run time. Pixels are ``landmark.x * width``, ``landmark.y * height``.
    """

    name = "mediapipe-pose"

    def __init__(
        self,
        head: str = "ears",
        model_complexity: int = 1,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        try:
            import mediapipe as mp
        except ImportError:
            raise BinoposeError(
                "the MediaPipe detector needs mediapipe==0.10.21: pip install 'binopose[detect]' "
                "(or pip install --no-deps mediapipe==0.10.21 absl-py attrs flatbuffers "
                "'protobuf>=4.25.3,<5')"
            ) from None
        self._W = blazepose_mapping(head)
        self.head = head
        self._options = dict(
            static_image_mode=static_image_mode,
            model_complexity=model_complexity,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._pose = mp.solutions.pose.Pose(**self._options)

    def reset(self) -> None:
        """Forget the tracking state: the next frame is processed as the first of a video."""
        import mediapipe as mp

        self._pose.close()
        self._pose = mp.solutions.pose.Pose(**self._options)

    def detect(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise BinoposeError(f"expected an (H, W, 3) BGR image, got shape {frame_bgr.shape}")
        h, w = frame_bgr.shape[:2]
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return no_person()
        lm = np.array([[p.x * w, p.y * h, p.visibility] for p in result.pose_landmarks.landmark])
        return blazepose_to_17(lm[:, :2], lm[:, 2], self.head)

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> MediaPipeDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DETECTORS = {"mediapipe": MediaPipeDetector}


def make_detector(name: str = "mediapipe", **kwargs: object) -> Detector:
    """Build a detector by name (one instance per camera: detectors may track between frames)."""
    if name not in DETECTORS:
        raise BinoposeError(f"unknown detector {name!r} (expected one of: {', '.join(DETECTORS)})")
    return DETECTORS[name](**kwargs)
