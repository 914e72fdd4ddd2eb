"""Two views of the Pose2Sim 4-camera capture against its 4-view reference (see docs/POSE2SIM.md).

    .venv/bin/python experiments/pose2sim_study.py [--data DIR] [--model PATH] [--no-refine] [--detect]

For each camera pair: the 2-view triangulation of the MediaPipe 2D in ``reference_4view.npz``
(``kp2d_h36m17_synced``, distorted pixels, left/right flips already repaired) and, when a refiner
model loads, triangulation + Dual-Diffusion refinement, scored against ``kp3d_ref_4view_mm`` moved
into the left camera's frame. ``--detect`` also runs binopose's own MediaPipe adapter on the raw
videos (no flip repair by the reference) and scores the pipeline's own left/right repair.
Writes docs/img/pose2sim_*.png and a JSON of every number (default /tmp/pose2sim_study.json).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig, load_cameras
from binopose.io import Keypoints2D
from binopose.io_utils import json_text
from binopose.metrics import pose_metrics
from binopose.skeleton import JOINT_NAMES
from binopose.video.pipeline import LiftConfig, lift

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "pose2sim_demo"
MAIN_PAIRS = ("cam01-cam02", "cam03-cam04")  # the two pairs whose cameras see the subject from the same side


def to_camera(X_world_mm: np.ndarray, cam) -> np.ndarray:
    """(N, J, 3) world mm -> the camera's frame (mm)."""
    return X_world_mm @ cam.R.T + cam.t


def score(pred: np.ndarray, ref: np.ndarray) -> dict:
    m = pose_metrics(pred, ref)
    keep = ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm", "per_joint_mm", "nan_joints")
    out = {k: m[k] for k in keep}
    out["median_mm"] = float(np.nanmedian(np.linalg.norm(pred - ref, axis=-1)))
    return out


def detect_videos(data: Path, names: list[str], cache: Path) -> np.ndarray:
    """(4, F, 17, 3) binopose MediaPipe adapter on every frame of every raw video: x, y, confidence."""
    if cache.is_file():
        return np.load(cache)["kp"]
    from binopose.video.detect import MediaPipeDetector
    from binopose.video.media import open_media

    out, t0, frames = [], time.perf_counter(), 0
    for name in names:
        with MediaPipeDetector() as det:
            res = [det.detect(img) for _, img in open_media(data / f"{name}.mp4").frames()]
        frames += len(res)
        out.append(np.stack([np.concatenate([kp, c[:, None]], -1) for kp, c in res]))
    seconds = time.perf_counter() - t0
    print(f"detected {frames} full-resolution frames in {seconds:.1f} s ({frames / seconds:.1f} images/s)")
    n = min(len(o) for o in out)
    kp = np.stack([o[:n] for o in out])
    np.savez_compressed(cache, kp=kp)
    return kp


def run_pair(kp: np.ndarray, cams: list, a: int, b: int, ref_world: np.ndarray, cfg: LiftConfig) -> dict:
    """kp (4, F, 17, 3) -> scores of the (a, b) pair against the reference in camera a's frame."""
    rig = StereoRig(cams[a], cams[b])
    keypoints = Keypoints2D(
        np.stack([kp[a, ..., :2], kp[b, ..., :2]], 1), np.stack([kp[a, ..., 2], kp[b, ..., 2]], 1)
    )
    poses, info = lift(keypoints, rig, cfg)
    ref = to_camera(ref_world, cams[a])
    res = {"triangulation": score(info["triangulated"], ref), "lr_swapped_frames": info["lr_swapped_frames"]}
    if info["refined"]:
        res["refined"] = score(poses.poses, ref)
        e_tri = np.nanmean(np.linalg.norm(info["triangulated"] - ref, axis=-1), 1)
        e_ref = np.nanmean(np.linalg.norm(poses.poses - ref, axis=-1), 1)
        res["refinement_helps_frames"] = float(np.mean(e_ref < e_tri))
        res["_poses"] = poses.poses
    res["_tri"], res["_ref"] = info["triangulated"], ref
    return res


def plot_per_joint(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [p for p in MAIN_PAIRS if p in results]
    fig, ax = plt.subplots(figsize=(10, 3.8))
    bars = [(p, k) for p in pairs for k in ("triangulation", "refined") if k in results[p]]
    w = 0.8 / len(bars)
    for i, (p, k) in enumerate(bars):
        ax.bar(
            np.arange(17) + i * w,
            results[p][k]["per_joint_mm"],
            w,
            label=f"{p} {k} ({results[p][k]['mpjpe_mm']:.1f})",
        )
    ax.set_xticks(np.arange(17) + 0.4 - w / 2, JOINT_NAMES, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("MPJPE vs 4-view reference (mm)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", help="refiner model (default: the shipped one)")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument(
        "--detect", action="store_true", help="also run binopose's MediaPipe adapter on the raw videos"
    )
    ap.add_argument("--img", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--json", type=Path, default=Path("/tmp/pose2sim_study.json"))
    args = ap.parse_args(argv)
    d = np.load(args.data / "reference_4view.npz")
    names = [str(n) for n in d["camera_names"]]
    cams = load_cameras(args.data / "calibration_opencv.toml")
    assert [c.name for c in cams] == names
    ref_world = d["kp3d_ref_4view_mm"]
    refine = not args.no_refine
    if refine:
        try:
            lift(
                Keypoints2D(d["kp2d_h36m17_synced"][:2, :1, :, :2].transpose(1, 0, 2, 3), None),
                StereoRig(cams[0], cams[1]),
                LiftConfig(model=args.model),
            )
        except BinoposeError as e:
            print(f"refinement unavailable, triangulation only: {e}")
            refine = False
    cfg = LiftConfig(refine=refine, model=args.model, lr_fix=False)
    inputs = {"reference 2D (flips repaired)": d["kp2d_h36m17_synced"]}
    if args.detect:
        raw = detect_videos(args.data, names, Path("/tmp/pose2sim_binopose_mediapipe.npz"))
        idx = d["video_frame_idx"]  # synced frame i of camera c = video frame idx[c, i]
        own = np.stack([raw[c, idx[c]] for c in range(len(names))])
        ref_map = d["kp2d_h36m17_synced"]
        same = ~d["lr_flipped"][np.arange(len(names))[:, None], idx]  # frames the reference did not flip
        print(
            f"own detections vs the reference's 2D (unflipped frames): max |diff| "
            f"{np.abs(own[same][..., :2] - ref_map[same][..., :2]).max():.3g} px"
        )
        inputs["binopose MediaPipe, raw"] = own
    results: dict = {}
    for label, kp in inputs.items():
        for fix in [False, True] if label.startswith("binopose") else [False]:
            key = f"{label}{', pipeline L/R repair' if fix else ''}"
            results[key] = {}
            for a, b in itertools.combinations(range(len(names)), 2):
                pair = f"{names[a]}-{names[b]}"
                c = LiftConfig(refine=cfg.refine, model=cfg.model, lr_fix=fix)
                results[key][pair] = run_pair(kp, cams, a, b, ref_world, c)
                r = results[key][pair]
                line = f"{key:<45} {pair}: tri {r['triangulation']['mpjpe_mm']:6.1f} mm"
                if "refined" in r:
                    line += f", refined {r['refined']['mpjpe_mm']:6.1f} mm (helps {100 * r['refinement_helps_frames']:.0f}%)"
                print(
                    line
                    + f", rel {r['triangulation']['mpjpe_rel_mm']:.1f}, L/R swaps {r['lr_swapped_frames']}"
                )
    args.img.mkdir(parents=True, exist_ok=True)
    main_res = results["reference 2D (flips repaired)"]
    plot_per_joint(main_res, args.img / "pose2sim_per_joint.png")
    from binopose.viz import plot_pose_3d

    for pair in MAIN_PAIRS:
        r, f = main_res[pair], len(ref_world) // 2
        others = {"4-view reference": r["_ref"][f]}
        if "_poses" in r:
            others["triangulation"] = r["_tri"][f]
        plot_pose_3d(
            r.get("_poses", r["_tri"])[f],
            args.img / f"pose2sim_{pair}_frame{f}.png",
            f"{pair}, synced frame {f}: {'refined' if '_poses' in r else 'triangulation'} (solid)",
            others,
        )
    clean = {
        k: {p: {m: v for m, v in r.items() if not m.startswith("_")} for p, r in res.items()}
        for k, res in results.items()
    }
    args.json.write_text(
        json_text({"command": " ".join(sys.argv), "refined": refine, "results": clean}, indent=1)
    )
    print(f"wrote {args.json} and {args.img}/pose2sim_*.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
