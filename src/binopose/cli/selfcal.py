"""``binopose calibrate --from-poses``: the rig from a person filmed by both cameras, no board.

Keypoints come from a file (``--from-poses KP.npz``: ``kp2d`` (N, 2, 17, 2) px, optional ``conf``; e.g. the
``keypoints_2d.npz`` of ``binopose run``) or are detected in ``--left``/``--right`` videos with MediaPipe
(then the frame offset is found first). Intrinsics come from ``--intrinsics`` (a rig/camera TOML, e.g. from
a board) or from a guess ``--focal-px`` with ``--image-size`` (then ``--refine-focal`` is advised).
See docs/SELFCAL.md.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from binopose.errors import BinoposeError


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("calibration from the person (--from-poses)")
    g.add_argument(
        "--from-poses",
        nargs="?",
        const="",
        metavar="KEYPOINTS.npz",
        help="calibrate from a person's 2D joints: from this file, or (no value) detected in --left/--right",
    )
    g.add_argument(
        "--intrinsics", metavar="CAMS.toml", help="camera file giving K (and distortion) of both views"
    )
    g.add_argument("--cameras", nargs=2, metavar=("LEFT", "RIGHT"), help="camera names in --intrinsics")
    g.add_argument("--focal-px", type=float, help="focal length guess in px when there is no --intrinsics")
    g.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), help="image size with --focal-px")
    g.add_argument("--refine-focal", action="store_true", help="refine both focal lengths in the adjustment")
    g.add_argument(
        "--person-height-mm",
        type=float,
        default=1700.0,
        help="the person's height; sets the metric scale (default 1700, an average adult)",
    )
    g.add_argument(
        "--scale",
        default="height",
        choices=("height", "bones"),
        help="scale from the leg+trunk chain vs the height, or from limb bones (default height)",
    )
    g.add_argument("--max-offset", type=int, default=30, help="videos: largest frame offset searched (30)")


def _cameras(args: argparse.Namespace):
    from binopose.geometry.rig import Camera, load_cameras

    if args.intrinsics:
        cams = load_cameras(args.intrinsics)
        by = {c.name: c for c in cams}
        if args.cameras:
            missing = [n for n in args.cameras if n not in by]
            if missing:
                raise BinoposeError(f"{args.intrinsics} has no camera {missing[0]!r} (has: {', '.join(by)})")
            return by[args.cameras[0]], by[args.cameras[1]]
        if len(cams) < 2:
            raise BinoposeError(f"{args.intrinsics} has {len(cams)} camera; give two (left, right)")
        return cams[0], cams[1]
    if args.focal_px is None or args.image_size is None:
        raise BinoposeError(
            "--from-poses needs intrinsics: --intrinsics CAMS.toml, or --focal-px F --image-size W H"
        )
    w, h = args.image_size
    K = np.array([[args.focal_px, 0, (w - 1) / 2], [0, args.focal_px, (h - 1) / 2], [0, 0, 1]])
    return Camera("left", (w, h), K), Camera("right", (w, h), K)


def _keypoints(args: argparse.Namespace, K: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if args.from_poses:
        from binopose.io import load_keypoints_2d

        k = load_keypoints_2d(args.from_poses)
        return k.kp2d, k.conf
    if not (args.left and args.right):
        raise BinoposeError("--from-poses without a file needs --left and --right videos")
    from binopose.selfcal.media import detect_videos, synchronise

    kp, conf = detect_videos(args.left, args.right)
    res, kp, conf = synchronise(kp, conf, args.max_offset, K=K)
    print(f"synchronisation: {res.describe()}")
    return kp, conf


def run(args: argparse.Namespace) -> int:
    from binopose.geometry.rig import save_rig
    from binopose.io_utils import atomic_write_json
    from binopose.selfcal import SelfCalConfig, SelfCalRefused, calibrate_from_keypoints
    from binopose.selfcal.media import undistort

    left, right = _cameras(args)
    kp, conf = _keypoints(args, np.stack([left.K, right.K]))
    kp = np.stack([undistort(kp[:, 0], left), undistort(kp[:, 1], right)], 1)
    cfg = SelfCalConfig(
        refine_focal=args.refine_focal, scale=args.scale, person_height_mm=args.person_height_mm
    )
    try:
        res = calibrate_from_keypoints(kp, conf, left, right, cfg)
    except SelfCalRefused as e:
        if args.report:
            atomic_write_json(args.report, e.report)
        raise BinoposeError(f"no rig written: {e}") from None
    rep = res.report
    r = rep["residual_px"]
    print(
        f"frames: {rep['frames_both_views']} with the person in both views, {rep['frames_used']} adjusted, "
        f"{rep['frames_lr_swapped']} left/right swaps fixed; RANSAC inliers {100 * rep['inlier_ratio']:.0f}%"
    )
    print(f"reprojection error: median {r['median']:.2f} px, p90 {r['p90']:.2f} px")
    print(
        f"baseline {res.rig.baseline_mm:.0f} mm (scale from {cfg.scale}, person {cfg.person_height_mm:.0f} mm), "
        f"baseline/depth {rep['baseline_to_depth']:.2f}; predicted standard error: rotation "
        f"{rep['rotation_std_deg']:.3f} deg, baseline direction {rep['baseline_direction_std_deg']:.3f} deg"
    )
    save_rig(res.rig, args.out, units=args.units)
    print(f"wrote {args.out}")
    if args.report:
        atomic_write_json(args.report, json.loads(json.dumps(rep, default=float)))
        print(f"wrote {args.report}")
    return 0
