"""Streaming frame readers for a video file or a folder of images (never the whole clip in memory).

``open_media(path)`` returns a :class:`FrameSource` with ``info`` (frame count, fps, size) and a
generator ``frames(start, stop)`` of BGR uint8 images. Unreadable media raise a one-line
:class:`BinoposeError`. ``iter_frame_pairs`` pairs two sources frame by frame, in gray (calibration).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class MediaInfo:
    path: str
    kind: str  # "video" or "images"
    frames: int
    fps: float | None  # None for an image folder without a given rate
    size: tuple[int, int]  # (width, height) px


def _cv2():
    import cv2

    return cv2


class FrameSource:
    """Frames of one camera: a video file or a folder of images sorted by name."""

    def __init__(self, path: str | os.PathLike, fps: float | None = None) -> None:
        p = Path(path)
        if not p.exists():
            raise BinoposeError(f"media not found: {p}")
        self.path = p
        self._images: list[Path] = []
        if p.is_dir():
            self._images = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not self._images:
                raise BinoposeError(f"{p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            first = self._read_image(self._images[0])
            self.info = MediaInfo(str(p), "images", len(self._images), fps, (first.shape[1], first.shape[0]))
        else:
            self.info = self._probe_video(p, fps)

    @staticmethod
    def _probe_video(p: Path, fps: float | None) -> MediaInfo:
        cv2 = _cv2()
        cap = cv2.VideoCapture(str(p))
        try:
            ok, frame = cap.read() if cap.isOpened() else (False, None)
            if not ok or frame is None:
                raise BinoposeError(f"cannot read video {p} (not a video file, or a codec OpenCV lacks)")
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            rate = fps or float(cap.get(cv2.CAP_PROP_FPS)) or None
        finally:
            cap.release()
        if n <= 0:  # some containers do not store the count: count by decoding
            n = sum(1 for _ in FrameSource._decode(p, 0, None))
        return MediaInfo(str(p), "video", n, rate, (frame.shape[1], frame.shape[0]))

    @staticmethod
    def _read_image(f: Path) -> np.ndarray:
        img = _cv2().imread(str(f), _cv2().IMREAD_COLOR)
        if img is None:
            raise BinoposeError(f"cannot read image {f}")
        return img

    @staticmethod
    def _decode(p: Path, start: int, stop: int | None) -> Iterator[tuple[int, np.ndarray]]:
        cap = _cv2().VideoCapture(str(p))
        try:
            i = 0
            while i < start and cap.grab():  # exact frame positions: grab and drop, no seeking
                i += 1
            while stop is None or i < stop:
                ok, frame = cap.read()
                if not ok:
                    return
                yield i, frame
                i += 1
        finally:
            cap.release()

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, BGR image)`` for frames ``start`` .. ``stop - 1`` (to the end if None)."""
        if start < 0:
            raise BinoposeError(f"{self.path}: start frame must be >= 0, got {start}")
        if not self._images:
            yield from self._decode(self.path, start, stop)
            return
        size = self.info.size
        for i, f in enumerate(self._images[start:stop], start):
            img = self._read_image(f)
            if (img.shape[1], img.shape[0]) != size:
                raise BinoposeError(
                    f"{f}: image size {img.shape[1]}x{img.shape[0]} differs from the first image's "
                    f"{size[0]}x{size[1]}"
                )
            yield i, img

    def read(self, index: int) -> np.ndarray:
        """One frame (decodes from the start for a video: use ``frames`` for many)."""
        for _, img in self.frames(index, index + 1):
            return img
        raise BinoposeError(f"{self.path}: no frame {index} (it has {self.info.frames})")


def open_media(path: str | os.PathLike, fps: float | None = None) -> FrameSource:
    """Open a video file or an image folder. ``fps`` overrides (or, for images, supplies) the frame rate."""
    return FrameSource(path, fps)


# --- pairs of sources (calibration) ------------------------------------------------------------


def _open(path: str | os.PathLike, side: str) -> tuple[FrameSource, list[str]]:
    """The camera's frame source and a name per frame (file names for a folder)."""
    if not Path(path).exists():
        raise BinoposeError(f"{side} camera: no such folder or video: {path}")
    src = _with_side(side, open_media, path)
    if src.info.kind == "images":
        return src, sorted(f.name for f in Path(path).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    return src, [f"frame {i}" for i in range(src.info.frames)]


def _with_side(side: str, fn, *args):
    try:
        return fn(*args)
    except BinoposeError as e:
        raise BinoposeError(f"{side} camera: {e}") from None


def iter_frame_pairs(
    left: str | os.PathLike, right: str | os.PathLike, every: int = 1
) -> tuple[int, Iterator[tuple[int, str, np.ndarray, np.ndarray]]]:
    """Pair the frames of two sources: image folders (sorted by name, matched by position) or videos
    (every ``every``-th frame, up to the shorter one). Returns (number of pairs, iterator of
    (index, name, left gray (H, W) uint8, right gray)). Image sizes must not change within a camera.
    """
    if every < 1:
        raise BinoposeError(f"--every must be >= 1, got {every}")
    if Path(left).resolve() == Path(right).resolve():
        raise BinoposeError(f"left and right are the same source ({left}); calibration needs two cameras")
    (src_l, names_l), (src_r, names_r) = _open(left, "left"), _open(right, "right")
    n_l, n_r = src_l.info.frames, src_r.info.frames
    if src_l.info.kind == src_r.info.kind == "images" and n_l != n_r:
        raise BinoposeError(
            f"the folders hold different numbers of images (left {n_l}, right {n_r}); pairs are "
            "matched by position, so each left image needs its right partner"
        )
    n = min(n_l, n_r)
    names = [a if a == b else f"{a} | {b}" for a, b in zip(names_l, names_r, strict=False)]
    return -(-n // every), _pairs(src_l, src_r, names, every)


def _pairs(src_l: FrameSource, src_r: FrameSource, names: list[str], every: int) -> Iterator:
    frames_l, frames_r = src_l.frames(), src_r.frames()
    while True:
        pair = _with_side("left", next, frames_l, None), _with_side("right", next, frames_r, None)
        if pair[0] is None or pair[1] is None:
            return
        (i, img_l), (_, img_r) = pair
        if i % every == 0:
            name = names[i] if i < len(names) else f"frame {i}"  # a video's frame count may be short
            yield i, name, _gray(img_l), _gray(img_r)


def _gray(img: np.ndarray) -> np.ndarray:
    return _cv2().cvtColor(img, _cv2().COLOR_BGR2GRAY)
