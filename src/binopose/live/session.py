"""A live session: two sources -> paired frames -> 3D poses -> file / UDP / window, with statistics.

The consumer (this thread) takes the newest frame of each camera, pairs them by capture time,
lifts the pair to 3D and hands the pose to the sinks. Frames that arrive while it is busy are
dropped by the readers (counted), so the output never falls behind the cameras.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.live.lifter import LiveConfig, LiveLifter, LivePose
from binopose.live.pairing import Pairer, default_tolerance
from binopose.live.sinks import message
from binopose.live.sources import CameraReader, Frame, SourceOptions, clock, open_source, parse_source
from binopose.live.stats import LiveStats
from binopose.video.detect import Detector

START_DELAY_S = 0.05  # both file readers start playing at the same instant, this far ahead


@dataclass(frozen=True)
class Limits:
    max_poses: int | None = None  # stop after this many poses
    duration_s: float | None = None  # stop after this many seconds
    report_every_s: float = 5.0  # a progress line this often (0: never)
    stall_s: float = 5.0  # a camera that gives no frame for this long ends the session


def open_readers(left: str, right: str, opts: SourceOptions) -> tuple[dict[str, CameraReader], float]:
    """Readers for both sources (not started) and the pairing tolerance (seconds)."""
    readers, rates = {}, []
    for side, text in (("left", left), ("right", right)):
        reader, rate = open_source(parse_source(text), side, opts)
        readers[side] = reader
        rates.append(rate)
    return readers, default_tolerance(*rates)


def check_frame_size(frame: Frame, cam: object, side: str) -> None:
    h, w = frame.image.shape[:2]
    if tuple(cam.size) != (0, 0) and (w, h) != tuple(cam.size):
        raise BinoposeError(
            f"{side} camera gives {w}x{h} images but the rig's camera {cam.name!r} was calibrated at "
            f"{cam.size[0]}x{cam.size[1]}"
        )


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class _Loop:
    """The consumer's state; ``run`` returns why it stopped."""

    def __init__(self, readers, lifter, sinks, rig, limits, show, log) -> None:
        self.readers, self.lifter, self.sinks, self.rig = readers, lifter, sinks, rig
        self.limits, self.log = limits, log
        self.window = None
        if show:
            from binopose.live.view import Window

            self.window = Window()
        self.stats = LiveStats()
        take = {s: (lambda r=r: r.mailbox.take(limits.stall_s)) for s, r in readers.items()}
        self.pairer = Pairer(take["left"], take["right"], tolerance=0.0)

    def start_and_run(self) -> str:
        """Load the models (a first run on blank input), start both cameras at one instant, run."""
        self.lifter.warm_up()
        t0 = clock() + START_DELAY_S
        for r in self.readers.values():
            r.start(t0)
        self.stats = LiveStats(t_start=t0)
        try:
            return self.run(t0)
        except KeyboardInterrupt:
            return "interrupted"

    def run(self, t0: float) -> str:
        lim, checked = self.limits, False
        next_report = clock() + (lim.report_every_s or np.inf)
        while True:
            pair = self.pairer.next_pair()
            if pair is None:
                return self._why_no_pair()
            if not checked:
                check_frame_size(pair[0], self.rig.left, "left")
                check_frame_size(pair[1], self.rig.right, "right")
                checked = True
            t_lift = clock()
            pose = self.lifter(*pair)
            self.emit(pose, t0, clock() - t_lift)
            if self.window is not None and not self._show(pair, pose):
                return "window closed"
            if clock() >= next_report:
                dropped = "/".join(str(r.mailbox.dropped) for r in self.readers.values())
                self.log(f"{self.stats.window_report()}; frames dropped so far (left/right) {dropped}")
                next_report = clock() + lim.report_every_s
            if lim.max_poses is not None and self.stats.emitted >= lim.max_poses:
                return f"{lim.max_poses} poses"
            if lim.duration_s is not None and clock() - self.stats.t_start >= lim.duration_s:
                return f"{lim.duration_s} s"

    def emit(self, pose: LivePose, t0: float, busy_s: float) -> None:
        msg = message(pose, t0)
        for s in self.sinks:
            s.write(msg)
        self.stats.record(pose.t_host, bool(np.isfinite(pose.pose).all()), busy_s)

    def _show(self, pair: tuple[Frame, Frame], pose: LivePose) -> bool:
        from binopose.live.view import compose

        return self.window.show(compose(pair[0].image, pair[1].image, pose, self.rig))

    def _why_no_pair(self) -> str:
        for side, r in self.readers.items():
            if r.error:
                raise BinoposeError(r.error)
            if r.mailbox.closed:
                return f"{side} source ended"
        return f"no frame for {self.limits.stall_s} s"


def run_live(
    left: str,
    right: str,
    rig: StereoRig,
    cfg: LiveConfig,
    detector_factory: Callable[[], Detector],
    sinks: Sequence[object] = (),
    limits: Limits = Limits(),
    show: bool = False,
    sources: SourceOptions | None = None,
    refiner: object = None,
    log: Callable[[str], None] = _log,
) -> dict:
    """Run a live session until a source ends, a limit is reached, the window is closed or Ctrl-C;
    returns the summary (poses/s, latency, frames dropped and unmatched per camera, settings)."""
    sources = sources or SourceOptions()
    readers, detectors, loop = {}, [], None
    try:
        readers, tolerance = open_readers(left, right, sources)
        detectors = [detector_factory(), detector_factory()]
        lifter = LiveLifter(rig, tuple(detectors), cfg, refiner)
        loop = _Loop(readers, lifter, sinks, rig, limits, show, log)
        loop.pairer.tolerance = tolerance
        end = loop.start_and_run()
    finally:
        _close(readers, detectors, sinks, loop)
    summary = loop.stats.summary(readers, loop.pairer.unmatched)
    settings = {"left": left, "right": right, **asdict(sources), "det_scale": cfg.det_scale}
    settings["parallel_detect"] = cfg.parallel
    settings["recording_evidence"] = cfg.running_evidence
    settings.update({k: v for k, v in asdict(cfg.lift).items() if k not in ("model", "compile")})
    summary.update(end=end, pairing_tolerance_ms=round(tolerance * 1e3, 2), settings=settings)
    return summary


def _close(readers: dict, detectors: list, sinks: Sequence[object], loop: _Loop | None) -> None:
    for r in readers.values():
        r.stop()
    if loop is not None:
        loop.lifter.close()
    for d in detectors:
        getattr(d, "close", lambda: None)()
    for s in sinks:
        s.close()
    if loop is not None and loop.window is not None:
        loop.window.close()
