"""Live frame sources: one reader thread per camera that keeps only the newest frame.

A source is a camera index (``0``), a stream URL (``rtsp://...``, ``http://...``) or a video file /
image folder played as if it were a camera: paced at its frame rate from a start time shared by
both cameras. The reader never waits for the consumer: a frame that was not taken before the next
one arrived is dropped and counted, so a slow consumer falls behind by at most one frame.
``lossless=True`` (files only, for measurements) makes the reader wait instead and drop nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError

clock = time.perf_counter  # every timestamp of the live pipeline is on this clock (seconds)


@dataclass(frozen=True)
class Frame:
    seq: int  # frame number at the source (0, 1, 2, ...; gaps are frames the camera skipped)
    t: float  # capture time (seconds, :data:`clock`): pairing and smoothing use it
    t_host: float  # when the frame reached this process: latency is measured from here
    image: np.ndarray  # (H, W, 3) uint8 BGR


class LatestFrame:
    """A one-frame mailbox between a reader thread and the consumer (thread-safe)."""

    def __init__(self, lossless: bool = False) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.lossless = lossless
        self.put_count = 0  # frames the reader delivered
        self.taken = 0  # frames the consumer took
        self.dropped = 0  # frames replaced by a newer one before the consumer took them

    def put(self, frame: Frame) -> None:
        with self._cond:
            while self.lossless and self._frame is not None and not self._closed:
                self._cond.wait()
            if self._closed:  # the consumer stopped: nobody will take it
                return
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify_all()

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not taken yet; waits for one. None when the source ended or on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout):
                return None
            frame, self._frame = self._frame, None
            if frame is not None:
                self.taken += 1
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class CameraReader:
    """Reads ``frames`` on its own thread into a :class:`LatestFrame`.

    ``pace_fps``: play the frames at this rate from ``t0`` (frame i is captured at ``t0 + i / fps``),
    as a camera would deliver them; None: take each frame as soon as the source gives it (a camera
    or stream paces itself) and stamp it with the time it arrived.
    """

    def __init__(
        self,
        frames: Iterator[np.ndarray],
        name: str,
        pace_fps: float | None = None,
        lossless: bool = False,
    ) -> None:
        self.name = name
        self.pace_fps = pace_fps
        self.mailbox = LatestFrame(lossless)
        self.error: str | None = None
        self._frames = frames
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"binopose-live-{name}", daemon=True)

    def start(self, t0: float | None = None) -> CameraReader:
        self.t0 = clock() if t0 is None else t0
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for i, image in enumerate(self._frames):
                if self._stop.is_set():
                    break
                if self.pace_fps:
                    t = self.t0 + i / self.pace_fps
                    if not self.mailbox.lossless:
                        self._stop.wait(max(0.0, t - clock()))
                else:
                    t = clock()
                self.mailbox.put(Frame(i, t, clock(), image))
        except Exception as e:  # noqa: BLE001  (reported by the consumer as one line)
            self.error = f"{self.name} camera: {type(e).__name__}: {e}"
        finally:
            self.mailbox.close()

    def stop(self) -> None:
        self._stop.set()
        self.mailbox.close()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "camera", "stream" or "file"
    target: int | str


def parse_source(text: str) -> SourceSpec:
    """``"0"`` -> camera 0; ``"rtsp://..."`` -> a stream URL; anything else must be an existing video
    file or image folder."""
    if text.strip().isdigit():
        return SourceSpec("camera", int(text))
    if "://" in text:
        return SourceSpec("stream", text)
    if not Path(text).exists():
        raise BinoposeError(
            f"no camera, stream or file {text!r} (give a camera index, a URL or a video file)"
        )
    return SourceSpec("file", text)


def _capture_frames(cap: object) -> Iterator[np.ndarray]:
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                return
            yield frame
    finally:
        cap.release()


@dataclass(frozen=True)
class SourceOptions:
    fps: float | None = None  # frame rate (default: what the source reports)
    every_frame: bool = False  # files only: the reader waits for the consumer, nothing is dropped
    loop: int = 1  # files only: play the file this many times


def open_source(
    spec: SourceSpec, name: str, opts: SourceOptions = SourceOptions()
) -> tuple[CameraReader, float | None]:
    """A (not yet started) reader for ``spec`` and its frame rate (None if the source does not say)."""
    if spec.kind == "file":
        from binopose.video.media import open_media

        src = open_media(spec.target, opts.fps)
        rate = src.info.fps
        if not rate:
            raise BinoposeError(f"{name} camera: {spec.target} has no frame rate; give --fps")
        frames = (img for _ in range(opts.loop) for _, img in src.frames())
        return CameraReader(frames, name, pace_fps=rate, lossless=opts.every_frame), rate
    if opts.every_frame or opts.loop != 1:
        raise BinoposeError("--every-frame and --loop are for video files (a camera does not wait or rewind)")
    import cv2

    cap = cv2.VideoCapture(spec.target)
    if not cap.isOpened():
        raise BinoposeError(f"{name} camera: cannot open {spec.kind} {spec.target!r}")
    rate = opts.fps or float(cap.get(cv2.CAP_PROP_FPS)) or None
    return CameraReader(_capture_frames(cap), name), rate
