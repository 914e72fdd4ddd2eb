"""Does ``binopose run --resume`` reproduce an uninterrupted run? MediaPipe on the bundled demo clip.

    python bench/resume.py [--kill 30,60] [--segment 32 --warmup 8]

For each kill point k: detection runs uninterrupted, and again with its checkpoint cut after k pairs
(what a run killed there leaves) and resumed; both are lifted to 3D the way ``binopose run`` does
(undistort, left/right repair, triangulate, refine with the shipped model) and compared per joint (mm).
"before" emulates the old behaviour: one detector per camera tracking through the whole clip, and a
resume that restarts it cold at pair k. "after": detection in segments (the defaults of
:mod:`binopose.pair_detection`, or --segment/--warmup), a resume from the last segment boundary.
Prints a table and a JSON summary (command, machine, numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from binopose.geometry.rig import load_rig
from binopose.io import Keypoints2D, load_keypoints_2d, save_keypoints_2d
from binopose.video.detect import make_detector
from binopose.video.media import open_media
from binopose.video.pair_detection import SEGMENT, WARMUP, detect_pair
from binopose.video.pipeline import LiftConfig, lift, load_refiner

DEMO = Path(__file__).resolve().parents[1] / "src" / "binopose" / "assets" / "demo"


class NoReset:
    """A detector without ``reset``: tracked through, resumed cold (the old behaviour)."""

    def __init__(self) -> None:
        self._d = make_detector()
        self.name = self._d.name

    def detect(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._d.detect(img)

    def close(self) -> None:
        self._d.close()


def detect(ck: Path, resume: bool, old: bool, segment: int, warmup: int) -> Keypoints2D:
    dets = (NoReset(), NoReset()) if old else (make_detector(), make_detector())
    try:
        kp, _ = detect_pair(
            open_media(DEMO / "left.mp4"),
            open_media(DEMO / "right.mp4"),
            dets,
            checkpoint=ck,
            resume=resume,
            progress=False,
            segment=segment,
            warmup=warmup,
        )
    finally:
        for d in dets:
            d.close()
    return kp


def cut(ck: Path, k: int) -> None:
    kp = load_keypoints_2d(ck)
    save_keypoints_2d(ck, Keypoints2D(kp.kp2d[:k], kp.conf[:k], kp.frame_index[:k], {**kp.meta, "done": k}))


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.linalg.norm(a - b, axis=-1)
    ok = np.isfinite(d)
    return {
        "max_mm": round(float(d[ok].max()), 2),
        "mean_mm": round(float(d[ok].mean()), 2),
        "frames_differing": int((d > 1e-9).any(-1).sum()),
        "nan_mismatch": int((np.isnan(a) != np.isnan(b)).sum()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kill", default="30,60")
    ap.add_argument("--segment", type=int, default=SEGMENT)
    ap.add_argument("--warmup", type=int, default=WARMUP)
    ap.add_argument("--json", metavar="OUT.json")
    args = ap.parse_args()
    rig = load_rig(DEMO / "rig.toml")
    refiner = load_refiner(LiftConfig())
    lift3d = lambda kp: lift(kp, rig, LiftConfig(), 60.0, refiner=refiner)[0].poses  # noqa: E731
    res: dict = {
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "segment": args.segment,
        "warmup": args.warmup,
        "runs": {},
    }
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as td:
        for mode in ("before", "after"):
            old = mode == "before"
            seg = 10**9 if old else args.segment
            whole = detect(Path(td) / f"{mode}.npz", False, old, seg, args.warmup)
            X = lift3d(whole)
            res["runs"][f"{mode}: uninterrupted"] = {"frames": len(X)}
            for k in map(int, args.kill.split(",")):
                ck = Path(td) / f"{mode}_{k}.npz"
                detect(ck, False, old, seg, args.warmup)
                cut(ck, k)
                again = detect(ck, True, old, seg, args.warmup)
                r = compare(lift3d(again), X) | {
                    "kp2d_max_px": round(float(np.nanmax(np.abs(again.kp2d - whole.kp2d))), 3)
                }
                res["runs"][f"{mode}: killed after {k} pairs, resumed"] = r
                print(
                    f"{mode:<7} kill at {k:>3}: 3D max {r['max_mm']:>7.2f} mm, mean {r['mean_mm']:>6.2f} mm, "
                    f"{r['frames_differing']} frames differ; 2D max {r['kp2d_max_px']} px",
                    flush=True,
                )
            if old:
                before_whole = X
        res["after_vs_before_uninterrupted"] = compare(X, before_whole)
    res["seconds"] = round(time.perf_counter() - t0, 1)
    c = res["after_vs_before_uninterrupted"]
    print(
        f"segmented vs continuous tracking, both uninterrupted: max {c['max_mm']} mm, mean {c['mean_mm']} mm"
    )
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
