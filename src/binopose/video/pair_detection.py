"""Detect the 17 joints in both cameras' frame pairs: frame offsets for unsynchronised cameras, a check of
the image size against the calibration, and checkpoints of the detections so a long run can resume."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.io import Keypoints2D, load_keypoints_2d, save_keypoints_2d
from binopose.skeleton import NUM_JOINTS
from binopose.video.detect import Detector
from binopose.video.media import FrameSource


def check_sizes(left: FrameSource, right: FrameSource, rig: StereoRig) -> None:
    """Raise if a camera's images do not have the size its calibration was made at."""
    for src, cam, side in ((left, rig.left, "left"), (right, rig.right, "right")):
        if cam.size != (0, 0) and tuple(src.info.size) != tuple(cam.size):
            w, h = src.info.size
            raise BinoposeError(
                f"{side} media {src.path} is {w}x{h} but the rig's camera {cam.name!r} was calibrated "
                f"at {cam.size[0]}x{cam.size[1]}"
            )


def check_distinct(left: FrameSource, right: FrameSource) -> None:
    """Raise if both cameras are the same media: the same path, or identical first frames (a uniform
    frame, such as black before a fade-in, is not taken as evidence)."""
    if left.path.resolve() == right.path.resolve():
        raise BinoposeError(f"the left and right media are the same file: {left.path}")
    a, b = left.read(0), right.read(0)
    if a.shape == b.shape and np.array_equal(a, b) and float(a.std()) > 1.0:
        raise BinoposeError(
            f"the left and right media have identical first frames ({left.path}, {right.path}): "
            "the same video given twice?"
        )


def frame_ranges(n_left: int, n_right: int, offset: int) -> tuple[int, int, int]:
    """(left start, right start, pairs): right frame ``i + offset`` is simultaneous with left frame ``i``."""
    ls, rs = max(0, -offset), max(0, offset)
    return ls, rs, max(0, min(n_left - ls, n_right - rs))


def detect_pair(
    left: FrameSource,
    right: FrameSource,
    detectors: tuple[Detector, Detector],
    offset: int = 0,
    max_frames: int | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    every: int = 25,
    progress: bool = True,
) -> tuple[Keypoints2D, dict]:
    """Detect the 17 joints in every frame pair.

    Returns the keypoints (cameras' pixels) and ``{"seconds", "pairs"}``: the time spent decoding
    and detecting in this call and the pairs detected in it. With ``checkpoint``, the detections so
    far are written there atomically every ``every`` pairs; ``resume`` continues from that file.
    """
    from tqdm import tqdm

    ls, rs, n = frame_ranges(left.info.frames, right.info.frames, offset)
    n = n if max_frames is None else min(n, max_frames)
    if n == 0:
        raise BinoposeError(
            f"no frame pairs: {left.info.frames} left and {right.info.frames} right frames at offset {offset}"
        )
    meta = {
        "left": str(left.path),
        "right": str(right.path),
        "offset": offset,
        "frames": n,
        "detector": getattr(detectors[0], "name", type(detectors[0]).__name__),
    }
    kp = np.full((n, 2, NUM_JOINTS, 2), np.nan)
    conf = np.zeros((n, 2, NUM_JOINTS))
    done = 0
    if resume and checkpoint is not None and checkpoint.is_file():
        old = load_keypoints_2d(checkpoint)
        keys = ("left", "right", "offset", "detector")
        if any(old.meta.get(k) != meta[k] for k in keys):
            raise BinoposeError(
                f"cannot resume from {checkpoint}: it was made for another run "
                f"({', '.join(f'{k}={old.meta.get(k)!r}' for k in keys)})"
            )
        done = min(len(old.kp2d), n)
        kp[:done], conf[:done] = old.kp2d[:done], old.conf[:done]
    index = np.stack([np.arange(n) + ls, np.arange(n) + rs], 1)

    def save(count: int) -> None:
        if checkpoint is not None:
            save_keypoints_2d(
                checkpoint, Keypoints2D(kp[:count], conf[:count], index[:count], {**meta, "done": count})
            )

    t0 = time.perf_counter()
    pairs = zip(left.frames(ls + done, ls + n), right.frames(rs + done, rs + n), strict=False)
    for i, ((_, img_l), (_, img_r)) in enumerate(
        tqdm(pairs, total=n - done, desc="detect", unit="pair", disable=not progress), done
    ):
        for v, (det, img) in enumerate(((detectors[0], img_l), (detectors[1], img_r))):
            kp[i, v], conf[i, v] = det.detect(img)
        if (i + 1) % every == 0:
            save(i + 1)
    seconds = time.perf_counter() - t0
    save(n)
    return Keypoints2D(kp, conf, index, meta), {"seconds": seconds, "pairs": n - done}
