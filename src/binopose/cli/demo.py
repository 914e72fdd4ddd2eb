"""Run the whole pipeline on the two-camera clip shipped with binopose (Pose2Sim demo, BSD-3-Clause):
MediaPipe detection, triangulation, Dual-Diffusion refinement, exports and pictures, plus summary.json;
prints where the outputs are. Needs mediapipe (pip install 'binopose[detect]') and no network."""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from binopose.cli.export_options import add_frame, add_rig_units
from binopose.cli.options import add_refiner_options, lift_refiner_fields
from binopose.errors import BinoposeError
from binopose.geometry.rig import load_rig
from binopose.video.pipeline import SMOOTHERS, LiftConfig, run_pipeline, write_summary


def demo_assets() -> dict[str, Path]:
    """Paths of the vendored clip: left/right videos, rig TOML, 4-view reference, README."""
    root = Path(str(resources.files("binopose") / "assets" / "demo"))
    files = {
        "left": root / "left.mp4",
        "right": root / "right.mp4",
        "rig": root / "rig.toml",
        "reference": root / "reference.npz",
        "readme": root / "README.md",
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise BinoposeError(f"the demo clip is missing from this install: {', '.join(missing)}")
    return files


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out",
        default="binopose_demo_out",
        metavar="DIR",
        help="output folder (default: ./binopose_demo_out)",
    )
    add_rig_units(p)
    add_frame(p)
    p.add_argument("--no-refine", action="store_true", help="triangulation only")
    p.add_argument(
        "--smooth", default="none", choices=SMOOTHERS, help="temporal filter on the 3D poses (default: none)"
    )
    p.add_argument("--max-frames", type=int, metavar="N", help="use only the first N frame pairs")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_refiner_options(p)


def compare_with_reference(summary: dict, reference: Path, out: Path) -> dict:
    """MPJPE of the demo's poses against the clip's 4-view reference (mm); adds a comparison plot."""
    import numpy as np

    from binopose.io import load_poses
    from binopose.skeleton import JOINT_NAMES, ROOT
    from binopose.viz import plot_pose_3d

    poses = load_poses(summary["files"]["poses_npz"])
    ref = np.load(reference)["kp3d_ref_4view_left_mm"][poses.frame_index]
    err = np.linalg.norm(poses.poses - ref, axis=-1)
    rel = np.linalg.norm(
        (poses.poses - poses.poses[:, ROOT : ROOT + 1]) - (ref - ref[:, ROOT : ROOT + 1]), axis=-1
    )
    result = {
        "what": "against the 4-view triangulation (all four cameras) of the same frames",
        "mpjpe_mm": round(float(np.nanmean(err)), 1),
        "mpjpe_rel_mm": round(float(np.nanmean(rel)), 1),
        "per_joint_mm": {j: round(float(e), 1) for j, e in zip(JOINT_NAMES, np.nanmean(err, 0), strict=True)},
    }
    mid = len(poses) // 2
    png = plot_pose_3d(
        poses.poses[mid],
        out / "pose_3d_vs_reference.png",
        f"frame {poses.frame_index[mid]}",
        others={"4-view reference": ref[mid]},
    )
    summary["vs_4view_reference"] = result
    summary["files"]["pose_3d_vs_reference_png"] = str(png)
    write_summary(summary, out)
    return result


def run(args: argparse.Namespace) -> int:
    from binopose.cli.run import check_max_frames, print_summary
    from binopose.io_utils import check_output

    check_max_frames(args.max_frames)
    a = demo_assets()
    check_output(args.out, {"--model": args.model} | {f"demo {k}": v for k, v in a.items()}, folder=True)
    rig = load_rig(a["rig"], units=args.rig_units)
    print(
        f"binopose demo: {a['left'].name} + {a['right'].name} ({rig.left.name}/{rig.right.name}, "
        f"baseline {rig.baseline_mm / 1000:.2f} m), clip: {a['readme']}"
    )
    cfg = LiftConfig(refine=not args.no_refine, smooth=args.smooth, **lift_refiner_fields(args))
    summary = run_pipeline(
        a["left"],
        a["right"],
        rig,
        args.out,
        cfg,
        max_frames=args.max_frames,
        progress=not args.quiet,
        trc_frame=args.frame,
    )
    ref = compare_with_reference(summary, a["reference"], Path(args.out))
    print_summary(summary)
    print(f"vs the 4-view reference: MPJPE {ref['mpjpe_mm']} mm, pelvis-centred {ref['mpjpe_rel_mm']} mm")
    print(
        f"detection frames/s: {json.dumps(summary['detection_frames_per_s'])}; "
        f"all outputs in {Path(args.out).resolve()}"
    )
    return 0
