"""Frames for exported poses: the camera frame turned upright, or a gravity-aligned frame estimated from
the poses themselves (for OpenSim, whose y axis points up and whose floor is y = 0).

Poses are (N, 17, 3) mm in the left camera frame (x right, y down, z forward). A frame is ``(R, t)``
with ``X_out = R @ X + t``; every output frame here has y up and z towards the camera.
"""

from __future__ import annotations

import numpy as np

from binopose.errors import BinoposeError, warn
from binopose.skeleton import JOINT_NAMES

FRAMES = ("upright", "gravity", "camera")
_ANKLES = [JOINT_NAMES.index("right_ankle"), JOINT_NAMES.index("left_ankle")]
_PELVIS = JOINT_NAMES.index("pelvis")
#: A floor plane needs the ankles to spread this much in both directions (mm, the second-largest
#: standard deviation) and lie this flat (smallest over second-largest): a person walking about. On the
#: demo clip (spread 233 mm) the plane was 22 degrees off the lab's vertical, the legs 6 degrees.
MIN_FLOOR_SPREAD_MM, MAX_FLOOR_FLATNESS = 500.0, 0.1


def body_up(poses: np.ndarray) -> np.ndarray:
    """(3,) unit vector: the mean direction from the midpoint of the ankles to the pelvis (the legs; the
    trunk leans more: 15 degrees for ankles-to-head against 6 for the legs on the demo clip)."""
    v = poses[:, _PELVIS] - poses[:, _ANKLES].mean(1)
    v = v[np.isfinite(v).all(-1)]
    if not len(v):
        raise BinoposeError("no frame has both ankles and the pelvis: cannot tell which way is up")
    m = (v / np.linalg.norm(v, axis=-1, keepdims=True)).mean(0)
    return m / np.linalg.norm(m)


def floor_normal(poses: np.ndarray) -> tuple[np.ndarray, float] | None:
    """A plane fitted to the ankles of every frame (the feet stay near the floor): its unit normal,
    pointing to the heads, and the ankles' mean height along it (mm); None when the ankles do not
    spread over an area (the person stood still: the plane is not determined)."""
    pts = poses[:, _ANKLES].reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(-1)]
    if len(pts) < 10:
        return None
    centre = pts.mean(0)
    _, s, vt = np.linalg.svd(pts - centre, full_matrices=False)
    if s[1] / np.sqrt(len(pts)) < MIN_FLOOR_SPREAD_MM or s[2] > MAX_FLOOR_FLATNESS * s[1]:
        return None
    n = vt[2] if np.dot(vt[2], body_up(poses)) > 0 else -vt[2]
    return n, float(np.dot(centre, n))


def _frame_with_up(up: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """y = ``up``, z = the camera's backward direction made horizontal, x = y x z; the plane at
    ``height`` along ``up`` goes to y = 0."""
    z = -np.array([0.0, 0.0, 1.0])
    z = z - np.dot(z, up) * up
    if np.linalg.norm(z) < 1e-6:
        raise BinoposeError("the camera looks straight up or down: no horizontal viewing direction")
    z /= np.linalg.norm(z)
    R = np.stack([np.cross(up, z), up, z])
    return R, np.array([0.0, -height, 0.0])


def export_frame(poses: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """``(R, t)`` of ``frame``: "camera" (identity), "upright" (turned 180 degrees about x: y up, z towards
    the camera), or "gravity" (y along the floor's normal estimated from the ankles, else along the legs'
    mean ankles-to-pelvis direction, with a warning; the ankles' mean height at y = 0)."""
    if frame == "camera":
        return np.eye(3), np.zeros(3)
    if frame == "upright":
        return np.diag([1.0, -1.0, -1.0]), np.zeros(3)
    if frame != "gravity":
        raise BinoposeError(f"unknown frame {frame!r} (expected one of: {', '.join(FRAMES)})")
    floor = floor_normal(poses)
    if floor is None:
        warn(
            f"the ankles do not cover enough floor for a plane ({MIN_FLOOR_SPREAD_MM:.0f} mm both ways): "
            "'up' is the legs' mean ankles-to-pelvis direction instead"
        )
        up = body_up(poses)
        floor = up, float(np.nanmean(poses[:, _ANKLES].reshape(-1, 3) @ up))
    return _frame_with_up(*floor)


def apply_frame(poses: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(..., 3) points -> ``R @ X + t``."""
    return poses @ R.T + t
