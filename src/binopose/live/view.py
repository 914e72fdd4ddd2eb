"""The live window: both views with the skeleton drawn over them, and the 3D pose seen from the front
and from the side. Shown with ``cv2.imshow`` only where a display exists."""

from __future__ import annotations

import os
import sys

import numpy as np

from binopose.geometry.rig import StereoRig
from binopose.live.lifter import LivePose

WINDOW = "binopose live (q to quit)"


def display_available() -> bool:
    """A GUI can be opened: a display server on Linux (X11/Wayland), always on macOS and Windows, and
    an OpenCV built with a GUI backend."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import cv2

    info = cv2.getBuildInformation()
    gui = info.split("GUI:", 1)[1].split("\n", 1)[0].strip() if "GUI:" in info else ""
    return gui.upper() not in ("", "NONE")


def pose_panel(pose: np.ndarray, height: int) -> np.ndarray:
    """(17, 3) mm -> a BGR image (height x height) with the pose upright from the front (left half)
    and from the side (right half), 2.4 m across each half, centred on the pelvis."""
    from binopose.viz import draw_skeleton, upright_basis

    half = height // 2
    img = np.full((height, 2 * half, 3), 32, np.uint8)
    if not np.isfinite(pose[6]).all():
        return img
    q = (pose - pose[6]) @ upright_basis(pose[None]).T  # columns: across, depth, up
    s = height / 2400.0
    for k, axis in enumerate((0, 1)):
        uv = np.stack([q[:, axis] * s + half * (k + 0.5), height / 2 - q[:, 2] * s], -1)
        draw_skeleton(img, uv, thickness=2)
    img[:, half - 1 : half + 1] = 90
    import cv2

    for k, label in enumerate(("front", "side")):
        cv2.putText(
            img, label, (k * half + 8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (200, 200, 200), 1, cv2.LINE_AA
        )
    return img


def compose(
    left: np.ndarray, right: np.ndarray, p: LivePose, rig: StereoRig, height: int = 480
) -> np.ndarray:
    """Both views (detections thin green, the 3D pose reprojected in colour) and the 3D panel."""
    from binopose.viz import overlay_frame, reproject

    reproj = reproject(p.pose[None], rig)[0]
    views = overlay_frame((left, right), reproj, p.kp2d, height)
    return np.concatenate([views, pose_panel(p.pose, height)], axis=1)


class Window:
    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)

    def show(self, image: np.ndarray) -> bool:
        """Show one image; False when the user pressed q or Esc."""
        self._cv2.imshow(WINDOW, image)
        return self._cv2.waitKey(1) & 0xFF not in (ord("q"), 27)

    def close(self) -> None:
        self._cv2.destroyWindow(WINDOW)
