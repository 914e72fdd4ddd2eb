"""Detect the 17 joints in both cameras' frame pairs: frame offsets for unsynchronised cameras, a check of
the image size against the calibration, and checkpoints of the detections so a long run can resume.

A detector that tracks between frames (MediaPipe in video mode) gives results that depend on the frames
before. So that a resumed run gives exactly what an uninterrupted one gives, detection runs in segments
of :data:`SEGMENT` pairs: at the start of each, such a detector is reset (``reset()``) and warmed up on
the :data:`WARMUP` pairs before it (their results discarded), in every run; a resumed run restarts at
the last segment boundary its checkpoint reached. Detectors without ``reset`` are taken to be stateless
and resume at the last checkpointed pair."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.io import Keypoints2D, load_keypoints_2d, save_keypoints_2d
from binopose.skeleton import NUM_JOINTS
from binopose.video.detect import Detector
from binopose.video.media import FrameSource

#: pairs per detection segment (a tracking detector restarts at each), and warm-up pairs before each
SEGMENT, WARMUP = 120, 12


def media_id(src: FrameSource) -> dict:
    """What identifies a video or image folder across runs: its resolved path, size and mtime (a relative
    and an absolute name of one file are the same media)."""
    p = Path(src.path).resolve()
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


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
    segment: int = SEGMENT,
    warmup: int = WARMUP,
) -> tuple[Keypoints2D, dict]:
    """Detect the 17 joints in every frame pair.

    Returns the keypoints (cameras' pixels) and ``{"seconds", "pairs"}``: the time spent decoding
    and detecting in this call and the pairs detected in it. With ``checkpoint``, the detections so
    far are written there atomically every ``every`` pairs; ``resume`` continues from that file (for
    tracking detectors, from its last ``segment`` boundary: see the module docstring).
    """
    from tqdm import tqdm

    ls, rs, n = frame_ranges(left.info.frames, right.info.frames, offset)
    n = n if max_frames is None else min(n, max_frames)
    if n == 0:
        raise BinoposeError(
            f"no frame pairs: {left.info.frames} left and {right.info.frames} right frames at offset {offset}"
        )
    tracking = all(callable(getattr(d, "reset", None)) for d in detectors)
    meta = {
        "left": str(left.path),
        "right": str(right.path),
        "offset": offset,
        "frames": n,
        "detector": getattr(detectors[0], "name", type(detectors[0]).__name__),
        "left_media": media_id(left),
        "right_media": media_id(right),
        "segment": [segment, warmup] if tracking else None,
    }
    # float32, as the checkpoint keeps them: a resumed run's earlier pairs are then the same numbers
    kp = np.full((n, 2, NUM_JOINTS, 2), np.nan, np.float32)
    conf = np.zeros((n, 2, NUM_JOINTS), np.float32)
    done = 0
    if resume and checkpoint is not None and checkpoint.is_file():
        old = load_keypoints_2d(checkpoint)
        _check_same_run(old.meta, meta, checkpoint)
        done = min(len(old.kp2d), n)
        if tracking and done < n:
            done -= done % segment
        kp[:done], conf[:done] = old.kp2d[:done], old.conf[:done]
    index = np.stack([np.arange(n) + ls, np.arange(n) + rs], 1)

    def save(count: int) -> None:
        if checkpoint is not None:
            save_keypoints_2d(
                checkpoint, Keypoints2D(kp[:count], conf[:count], index[:count], {**meta, "done": count})
            )

    t0 = time.perf_counter()
    first = max(0, done - warmup) if tracking and done < n else done
    pairs = zip(left.frames(ls + first, ls + n), right.frames(rs + first, rs + n), strict=False)
    recent: deque = deque(maxlen=warmup)
    bar = tqdm(total=n - done, desc="detect", unit="pair", disable=not progress)
    for i, ((_, img_l), (_, img_r)) in enumerate(pairs, first):
        if i >= done:
            if tracking and i % segment == 0:
                _restart(detectors, recent)
            for v, (det, img) in enumerate(((detectors[0], img_l), (detectors[1], img_r))):
                kp[i, v], conf[i, v] = det.detect(img)
            bar.update()
            if (i + 1) % every == 0:
                save(i + 1)
        if tracking and warmup:
            recent.append((img_l, img_r))
    bar.close()
    seconds = time.perf_counter() - t0
    save(n)
    return Keypoints2D(kp, conf, index, meta), {"seconds": seconds, "pairs": n - done}


def _restart(detectors: tuple[Detector, Detector], recent: deque) -> None:
    """Reset both detectors and warm them up on the recent pairs (results discarded)."""
    for v, det in enumerate(detectors):
        det.reset()  # type: ignore[attr-defined]
        for pair in recent:
            det.detect(pair[v])


def _check_same_run(old: dict, new: dict, checkpoint: Path) -> None:
    """Refuse to resume from a checkpoint of other media (by resolved path, size and mtime), another
    offset, detector or segmenting."""
    keys = ("left_media", "right_media", "offset", "detector", "segment")
    differ = [k for k in keys if old.get(k) != new[k]]
    if differ:
        said = ", ".join(f"{k}: {old.get(k)!r} then, {new[k]!r} now" for k in differ)
        raise BinoposeError(f"cannot resume from {checkpoint}: it was made for another run ({said})")
