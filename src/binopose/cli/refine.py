"""2D keypoints of both views + a rig file -> 3D poses (mm, left camera frame) with per-joint uncertainty,
written as .npz, .json, .csv or .trc. The keypoints: a file (NPZ or JSON with kp2d (N,2,K,2) pixels, view 0
= left, optionally conf (N,2,K), and its layout, declared by the file or given by --layout), or the two
cameras' folders of per-frame OpenPose-style JSON files (OpenPose, Pose2Sim; needs --layout). Pixels are the
cameras' own (the rig's lens distortion is removed) unless --ideal says they are already undistorted."""

from __future__ import annotations

import argparse
from pathlib import Path

from binopose.cli.export_options import add_frame, add_rig_units
from binopose.cli.options import add_refiner_options, lift_refiner_fields
from binopose.cli.sharding import add_chunk, chunk_setting, sharded
from binopose.distributed import is_main, process_group
from binopose.errors import BinoposeError
from binopose.formats.layouts import layout_names
from binopose.formats.openpose import read_keypoints
from binopose.geometry.rig import load_rig
from binopose.io import POSE_FORMATS, save_poses
from binopose.io_utils import check_output
from binopose.stream import heap
from binopose.stream.keypoints import keypoint_chunks
from binopose.stream.lift import lift_chunks
from binopose.stream.poses import write_poses
from binopose.video.pipeline import SMOOTHERS, LiftConfig, lift, lift_meta, load_refiner


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "keypoints",
        nargs="+",
        metavar="KP",
        help="a 2D keypoint file (.npz/.json), or two folders of per-frame OpenPose JSON files (left right), "
        "as OpenPose and Pose2Sim write them",
    )
    p.add_argument(
        "--layout",
        choices=layout_names(),
        help="keypoint layout of input that does not declare it (OpenPose JSON, other tools' arrays); "
        "converted to binopose's 17 joints (docs/FORMATS.md)",
    )
    p.add_argument("--rig", required=True, metavar="RIG.toml", help="calibration of the two cameras")
    p.add_argument(
        "--cameras",
        nargs=2,
        metavar=("LEFT", "RIGHT"),
        help="camera names in the rig file (default: the first two)",
    )
    add_rig_units(p)
    add_frame(p)
    p.add_argument("--out", required=True, metavar="POSES", help=f"output file: {', '.join(POSE_FORMATS)}")
    p.add_argument(
        "--method",
        default="dualdiff",
        choices=("dualdiff", "triangulate"),
        help="dualdiff = triangulate + refine (default); triangulate = plain weighted triangulation",
    )
    p.add_argument("--ideal", action="store_true", help="the pixels are already undistorted")
    p.add_argument(
        "--smooth", default="none", choices=SMOOTHERS, help="temporal filter (needs --fps; default none)"
    )
    p.add_argument("--fps", type=float, help="frame rate of the keypoints (for smoothing and the TRC file)")
    p.add_argument(
        "--no-lr-fix", action="store_true", help="do not repair left/right label swaps between the views"
    )
    add_refiner_options(p)
    add_chunk(p)


def run(args: argparse.Namespace) -> int:
    with process_group(args.device) as active:  # under torchrun: the ranks share the refiner's work
        return _run(args, active)


def _run(args: argparse.Namespace, active: bool) -> int:
    if not args.out.lower().endswith(POSE_FORMATS):
        raise BinoposeError(f"--out must end in one of {', '.join(POSE_FORMATS)}, got {args.out!r}")
    kps = args.keypoints if isinstance(args.keypoints, list) else [args.keypoints]
    check_output(args.out, {f"KP {k}": k for k in kps} | {"--rig": args.rig, "--model": args.model})
    rig = load_rig(args.rig, *(args.cameras or (None, None)), units=args.rig_units)
    cfg = LiftConfig(
        refine=args.method == "dualdiff",
        smooth=args.smooth,
        lr_fix=not args.no_lr_fix,
        **lift_refiner_fields(args),
    )
    # loaded here, not on demand in lift: a bad model fails even when nothing is refinable
    chunk_setting(args)
    refiner = sharded(load_refiner(cfg), args, active) if cfg.refine else None
    # the whole sequence in memory where a step needs all of it: a filter that runs backwards too, a TRC
    # frame fitted to the floor under every frame, or ranks under torchrun that share one refine call's
    # network passes; else a chunk at a time (memory does not grow with the file)
    gravity = args.out.lower().endswith(".trc") and args.frame == "gravity"
    if active or cfg.smooth != "none" or gravity:
        kp = read_keypoints(kps, args.layout)
        poses, info = lift(kp, rig, cfg, args.fps, ideal=args.ideal, refiner=refiner)
        if not is_main():
            return 0
        save_poses(args.out, poses, trc_frame=args.frame)
        n = len(poses)
    else:
        heap.limit_heap()  # chunk-sized arrays mapped, not fragmenting the heap (memory flat in N)
        frames, chunks = keypoint_chunks(kps, args.layout)
        info = {}
        spill = Path(args.out).resolve().parent  # the refiner's temporary file: beside the output
        poses_iter = lift_chunks(chunks, rig, cfg, args.fps, args.ideal, refiner, info, spill)
        n = write_poses(args.out, frames, args.fps, lift_meta(cfg, rig), poses_iter, trc_frame=args.frame)
    print(f"{n} poses ({args.method}; {info['lr_swapped_frames']} left/right swaps fixed) -> {args.out}")
    return 0
