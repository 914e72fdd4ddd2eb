"""Rectification of a calibrated stereo rig (cv2.stereoRectify) and the image maps that go with it."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, StereoRig


def rectify_rig(rig: StereoRig, alpha: float = 1.0) -> StereoRig:
    """The rectified rig (cv2.stereoRectify): distortion-free cameras with parallel axes and equal rows,
    still in the raw left camera frame (its R is the rectifying rotation). Images must be warped with
    :func:`rectification_maps` before its cameras describe them."""
    if rig.left.size != rig.right.size:
        raise BinoposeError(
            f"rectification needs one image size for both cameras, got {rig.left.size} and {rig.right.size}"
        )
    l, r = rig.left, rig.right
    if l.fisheye or r.fisheye:
        raise BinoposeError(
            "rectification of fisheye cameras is not supported (cv2.stereoRectify is pinhole)"
        )
    args = (l.K, l.dist, r.K, r.dist, l.size, rig.R_right_from_left, rig.t_right_from_left.reshape(3, 1))
    R1, R2, P1, P2, *_ = cv2.stereoRectify(*args, flags=cv2.CALIB_ZERO_DISPARITY, alpha=alpha)
    left = Camera(f"{l.name}_rectified", l.size, P1[:, :3], R=R1 @ l.R, t=R1 @ l.t)
    right = Camera(f"{r.name}_rectified", r.size, P2[:, :3], R=R2 @ r.R, t=R2 @ r.t)
    return StereoRig(left, right)


def rectification_maps(raw: StereoRig, rectified: StereoRig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per view, the (H, W) float32 x and y maps for ``cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR)``
    that turn a raw image into the rectified one (both rigs as written by ``binopose calibrate``)."""
    maps = []
    for cam, rect in ((raw.left, rectified.left), (raw.right, rectified.right)):
        R = rect.R @ cam.R.T  # rectified camera from raw camera
        maps.append(cv2.initUndistortRectifyMap(cam.K, cam.dist, R, rect.K, rect.size, cv2.CV_32FC1))
    return maps


def rectified_path(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}_rectified{out.suffix or '.toml'}")
