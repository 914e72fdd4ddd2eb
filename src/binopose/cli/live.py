"""Live 3D poses from two cameras: camera indices (0, 1), stream URLs (rtsp://, http://) or video files
played as if they were cameras. Frames are paired by capture time, detected (MediaPipe Pose),
undistorted, triangulated, optionally refined and smoothed causally (One-Euro); the poses go to a
file (NDJSON or CSV, one line per frame), to a UDP port as JSON (one datagram per frame; see
docs/LIVE.md) and to a window when a display exists. When the computer cannot keep up, frames are
dropped (and counted) rather than queued. Ctrl-C ends the session with its statistics."""

from __future__ import annotations

import argparse
import json
import sys

from binopose.cli.options import add_refiner_options, lift_refiner_fields
from binopose.errors import BinoposeError
from binopose.geometry.rig import load_rig


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = "a camera index (0), a stream URL or a video file / image folder (played at its frame rate)"
    p.add_argument("--left", required=True, metavar="SRC", help=f"left camera: {src}")
    p.add_argument("--right", required=True, metavar="SRC", help=f"right camera: {src}")
    p.add_argument("--rig", required=True, metavar="RIG.toml", help="calibration of the two cameras")
    p.add_argument("--cameras", nargs=2, metavar=("LEFT", "RIGHT"), help="camera names in the rig file")
    p.add_argument("--out", metavar="FILE", help="append the 3D poses to FILE: .ndjson / .jsonl or .csv")
    p.add_argument("--udp", metavar="HOST:PORT", help="send each pose as a JSON datagram (default: off)")
    p.add_argument("--summary", metavar="FILE.json", help="write the session's statistics here")
    p.add_argument(
        "--refine", action=argparse.BooleanOptionalAction, default=True, help="Dual-Diffusion refinement"
    )
    p.add_argument(
        "--smooth", default="oneeuro", choices=("none", "oneeuro"), help="causal filter (default: oneeuro)"
    )
    p.add_argument(
        "--min-cutoff", type=float, default=1.0, metavar="HZ", help="One-Euro cutoff at rest (default 1 Hz)"
    )
    p.add_argument(
        "--beta",
        type=float,
        default=0.005,
        help="One-Euro cutoff increase per mm/s of joint speed (default 0.005; larger: less lag, more jitter)",
    )
    p.add_argument(
        "--det-scale",
        type=float,
        default=1.0,
        metavar="S",
        help="resize frames by S (0 < S <= 1) before detection, for speed (default 1)",
    )
    p.add_argument(
        "--parallel-detect",
        action="store_true",
        help="detect the two views at the same time on two threads (MediaPipe releases the GIL)",
    )
    p.add_argument(
        "--recording-evidence",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="judge each frame's refinement (joint definitions, do-no-harm gate) with the last 300 frames' "
        "evidence (default); --no-recording-evidence judges each frame alone, which returns "
        "triangulation: one frame has no spread of residuals to measure its noise from (docs/LIVE.md)",
    )
    p.add_argument(
        "--model-complexity",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="MediaPipe Pose model: 1 (default) is bundled; 0 (lite) and 2 (heavy) are downloaded by mediapipe",
    )
    p.add_argument("--fps", type=float, help="frame rate of the sources (default: what they report)")
    p.add_argument("--max-poses", type=int, metavar="N", help="stop after N poses")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--report-every", type=float, default=5.0, metavar="S", help="progress line period (0: off)"
    )
    p.add_argument(
        "--show",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the window (default: when a display exists)",
    )
    p.add_argument(
        "--every-frame",
        action="store_true",
        help="video files only: process every frame as fast as possible, dropping none (for measurements)",
    )
    p.add_argument(
        "--loop", type=int, default=1, metavar="N", help="video files only: play them N times (default 1)"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads for the refiner (default 1: one pose at a time gains nothing from more, "
        "and the detector needs the other cores)",
    )
    p.add_argument("--no-lr-fix", action="store_true", help="do not repair left/right label swaps")
    add_refiner_options(p)


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.det_scale <= 1:
        raise BinoposeError(f"--det-scale must be in (0, 1], got {args.det_scale}")
    if not args.beta >= 0:
        raise BinoposeError(f"--beta must be >= 0, got {args.beta}")
    for name in ("max_poses", "duration", "fps", "loop", "threads", "min_cutoff"):
        v = getattr(args, name)
        if v is not None and not v > 0:
            raise BinoposeError(f"--{name.replace('_', '-')} must be > 0, got {v}")


def run(args: argparse.Namespace) -> int:
    import signal

    import torch

    _check(args)
    threads, on_sigterm = torch.get_num_threads(), signal.getsignal(signal.SIGTERM)
    torch.set_num_threads(args.threads)
    _stop_on_sigterm()
    try:  # the process-wide settings are put back: an in-process caller (a test) keeps its own
        return _session(args)
    finally:
        torch.set_num_threads(threads)
        signal.signal(signal.SIGTERM, on_sigterm)


def _session(args: argparse.Namespace) -> int:
    from binopose.io_utils import atomic_write_json
    from binopose.live.session import Limits, run_live
    from binopose.live.sources import SourceOptions, parse_source
    from binopose.live.stats import format_summary

    rig = load_rig(args.rig, *(args.cameras or (None, None)))
    cfg, show = _config(args), _show(args.show)
    for text in (args.left, args.right):
        parse_source(text)  # a missing file fails before --out is created
    summary = run_live(
        args.left,
        args.right,
        rig,
        cfg,
        lambda: _detector(args.model_complexity),
        _open_sinks(args),
        Limits(args.max_poses, args.duration, args.report_every),
        show=show,
        sources=SourceOptions(args.fps, args.every_frame, args.loop),
    )
    summary["settings"]["model_complexity"] = args.model_complexity
    summary["outputs"] = {"file": args.out, "udp": args.udp}
    print(format_summary(summary))
    print(f"  ended: {summary['end']}")
    if args.summary:
        atomic_write_json(args.summary, summary)
    sys.stdout.flush()
    return 0 if summary["poses"] else _no_poses(summary)


def _stop_on_sigterm() -> None:
    """SIGTERM (``kill PID``, a service manager) ends the session like Ctrl-C: statistics, summary."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _config(args: argparse.Namespace) -> object:
    from binopose.live.lifter import LiveConfig
    from binopose.video.pipeline import LiftConfig

    lift = LiftConfig(
        refine=args.refine,
        **lift_refiner_fields(args),
        smooth=args.smooth,
        min_cutoff_hz=args.min_cutoff,
        beta=args.beta,
        lr_fix=not args.no_lr_fix,
    )
    return LiveConfig(
        lift=lift,
        det_scale=args.det_scale,
        fps=args.fps or 30.0,
        parallel=args.parallel_detect,
        running_evidence=args.recording_evidence,
    )


def _show(asked: bool | None) -> bool:
    from binopose.live.view import display_available

    if asked and not display_available():
        raise BinoposeError("--show: no display here (no DISPLAY, or OpenCV without a GUI)")
    return display_available() if asked is None else asked


def _open_sinks(args: argparse.Namespace) -> list:
    from binopose.live.sinks import PoseFile, UdpSender

    sinks = []
    try:
        if args.udp:
            sinks.append(UdpSender(args.udp))
        if args.out:
            sinks.append(PoseFile(args.out))
    except BinoposeError:
        for s in sinks:
            s.close()
        raise
    return sinks


def _detector(complexity: int) -> object:
    from binopose.video.detect import make_detector

    try:
        return make_detector("mediapipe", model_complexity=complexity)
    except OSError as e:  # urllib's URLError included: the lite and heavy models are downloaded
        raise BinoposeError(
            f"--model-complexity {complexity}: mediapipe could not fetch that model ({e}); "
            "only --model-complexity 1 is bundled with mediapipe"
        ) from None


def _no_poses(summary: dict) -> int:
    sys.stderr.write(f"binopose live: no 3D pose was made ({json.dumps(summary['cameras'])})\n")
    return 1
