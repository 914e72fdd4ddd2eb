"""Two videos (or two image folders) of a calibrated stereo rig -> 3D poses: detect the 17 joints in both
views (MediaPipe Pose), undistort, triangulate with confidences, refine with the Dual-Diffusion model,
optionally smooth in time; writes the 2D detections, 3D poses (JSON, NPZ, CSV, TRC), an overlay video, a 3D
plot and animation, and summary.json."""

from __future__ import annotations

import argparse
import json

from binopose.cli.export_options import add_frame, add_rig_units
from binopose.cli.options import add_refiner_options, lift_refiner_fields
from binopose.errors import BinoposeError
from binopose.geometry.rig import load_rig
from binopose.io_utils import check_output
from binopose.video.pipeline import SMOOTHERS, LiftConfig, run_pipeline


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--left", required=True, metavar="L", help="left camera: a video file or a folder of images"
    )
    p.add_argument(
        "--right", required=True, metavar="R", help="right camera: a video file or a folder of images"
    )
    p.add_argument(
        "--rig",
        required=True,
        metavar="RIG.toml",
        help="calibration of the two cameras (binopose/Pose2Sim TOML)",
    )
    p.add_argument(
        "--cameras",
        nargs=2,
        metavar=("LEFT", "RIGHT"),
        help="camera names in the rig file (default: the first two)",
    )
    add_rig_units(p)
    add_frame(p)
    p.add_argument(
        "--out", default="binopose_out", metavar="DIR", help="output folder (default: ./binopose_out)"
    )
    p.add_argument(
        "--no-refine", action="store_true", help="triangulation only, no Dual-Diffusion refinement"
    )
    p.add_argument(
        "--smooth", default="none", choices=SMOOTHERS, help="temporal filter on the 3D poses (default: none)"
    )
    p.add_argument(
        "--offset",
        type=int,
        default=None,
        metavar="N",
        help="right frame i+N shows the instant of left frame i (default: found from the person's motion, "
        "see docs/SELFCAL.md; give 0 for cameras known to be in sync)",
    )
    p.add_argument(
        "--sync-frames",
        type=int,
        default=300,
        metavar="N",
        help="frames used to find the offset (default 300)",
    )
    p.add_argument(
        "--fps", type=float, help="frame rate (needed for image folders when smoothing; default: the video's)"
    )
    p.add_argument("--max-frames", type=int, metavar="N", help="process at most N frame pairs")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the 2D detections saved in DIR by an interrupted run",
    )
    p.add_argument(
        "--no-lr-fix", action="store_true", help="do not repair left/right label swaps between the two views"
    )
    p.add_argument("--no-viz", action="store_true", help="skip the overlay video and the 3D plots")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_refiner_options(p)


def run(args: argparse.Namespace) -> int:
    check_max_frames(args.max_frames)
    ins = {"--left": args.left, "--right": args.right, "--rig": args.rig, "--model": args.model}
    check_output(args.out, ins, folder=True)
    rig = load_rig(args.rig, *(args.cameras or (None, None)), units=args.rig_units)
    cfg = LiftConfig(
        refine=not args.no_refine, smooth=args.smooth, lr_fix=not args.no_lr_fix, **lift_refiner_fields(args)
    )
    offset = args.offset
    if offset is None:
        from binopose.selfcal.media import auto_offset

        found = auto_offset(args.left, args.right, rig, args.sync_frames, progress=not args.quiet)
        print(f"synchronisation: {found.describe()} (give --offset to override)", flush=True)
        offset = found.offset
    summary = run_pipeline(
        args.left,
        args.right,
        rig,
        args.out,
        cfg,
        offset=offset,
        resume=args.resume,
        max_frames=args.max_frames,
        fps=args.fps,
        viz=not args.no_viz,
        progress=not args.quiet,
        trc_frame=args.frame,
    )
    print_summary(summary)
    return 0


def check_max_frames(n: int | None) -> None:
    if n is not None and n < 1:
        raise BinoposeError(f"--max-frames must be at least 1, got {n}")


def print_summary(s: dict) -> None:
    det = s["detection_frames_per_s"]
    print(
        f"{s['frames']} frame pairs ({s['frames_complete_3d']} with a complete 3D pose), "
        f"refined: {'yes' if s['refined'] else 'no'}, smoothing: {s['smooth']}, "
        f"left/right swaps fixed: {s['lr_swapped_frames']}"
    )
    print(
        f"timings (s): {json.dumps(s['timings_s'])}; "
        f"detection {det['images']} images/s ({det['pairs']} pairs/s)"
    )
    print("outputs:")
    width = max(map(len, s["files"]))
    for k, v in s["files"].items():
        print(f"  {k:<{width}} {v}")
