"""Two videos (or two image folders) of a calibrated stereo rig -> 3D poses: detect the 17 joints in both
views (MediaPipe Pose), undistort, triangulate with confidences, refine with the Dual-Diffusion model,
optionally smooth in time; writes the 2D detections, 3D poses (JSON, NPZ, CSV, TRC), an overlay video, a 3D
plot and animation, and summary.json."""

from __future__ import annotations

import argparse
import json

from binopose.cli.export_options import add_frame, add_rig_units
from binopose.cli.manifest import read_manifest, run_manifest
from binopose.cli.options import add_refiner_options, lift_refiner_fields
from binopose.distributed import process_group
from binopose.errors import BinoposeError
from binopose.geometry.rig import load_rig
from binopose.io_utils import check_output
from binopose.lock import folder_lock
from binopose.video.pipeline import SMOOTHERS, LiftConfig, run_pipeline


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--left", metavar="L", help="left camera: a video file or a folder of images")
    p.add_argument("--right", metavar="R", help="right camera: a video file or a folder of images")
    p.add_argument(
        "--rig",
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
    p.add_argument("--out", metavar="DIR", help="output folder (default: ./binopose_out)")
    p.add_argument(
        "--manifest",
        metavar="FILE",
        help="many recordings, one line each: LEFT RIGHT RIG.toml OUT_DIR (instead of --left/--right/--rig/"
        "--out); shared over the ranks under torchrun; a failed recording does not stop the others",
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
    single = (args.left, args.right, args.rig, args.out)
    if args.manifest:
        if any(v is not None for v in single):
            raise BinoposeError(
                "--manifest names every recording's files: give no --left/--right/--rig/--out"
            )
        recordings = read_manifest(args.manifest)
        with process_group(args.device):  # under torchrun: the recordings are shared over the ranks
            return run_manifest(
                recordings, lambda rec: _brief(_recording(args, rec.left, rec.right, rec.rig, rec.out))
            )
    if None in single[:3]:
        raise BinoposeError("give --left, --right and --rig (or --manifest FILE)")
    print_summary(_recording(args, args.left, args.right, args.rig, args.out or "binopose_out"))
    return 0


def _recording(args: argparse.Namespace, left: str, right: str, rig_path: str, out: str) -> dict:
    """One recording through the pipeline with the command's options; returns its summary."""
    ins = {"--left": left, "--right": right, "--rig": rig_path, "--model": args.model}
    check_output(out, ins, folder=True)
    rig = load_rig(rig_path, *(args.cameras or (None, None)), units=args.rig_units)
    cfg = LiftConfig(
        refine=not args.no_refine, smooth=args.smooth, lr_fix=not args.no_lr_fix, **lift_refiner_fields(args)
    )
    with folder_lock(out):  # before the synchronisation's detection: a busy folder stops at once
        offset = args.offset
        if offset is None:
            from binopose.selfcal.media import auto_offset

            found = auto_offset(left, right, rig, args.sync_frames, progress=not args.quiet)
            print(f"synchronisation: {found.describe()} (give --offset to override)", flush=True)
            offset = found.offset
        return run_pipeline(
            left,
            right,
            rig,
            out,
            cfg,
            offset=offset,
            resume=args.resume,
            max_frames=args.max_frames,
            fps=args.fps,
            viz=not args.no_viz,
            progress=not args.quiet,
            trc_frame=args.frame,
        )


def _brief(s: dict) -> str:
    return f"{s['frames']} frame pairs ({s['frames_complete_3d']} with a complete 3D pose)"


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
