"""Streaming frame readers for a video file or a folder of images (never the whole clip in memory).

``open_media(path)`` returns a :class:`FrameSource` with ``info`` (frame count, fps, size) and a
generator ``frames(start, stop)`` of BGR uint8 images. Unreadable media raise a one-line
:class:`BinoposeError`.
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
