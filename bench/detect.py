"""2D detection speed on this machine: MediaPipe Pose (binopose.video.detect) frames/s, decode included and not.

    .venv/bin/python bench/detect.py [--frames N] [--video PATH ...] [--json OUT.json]

Default videos: the demo clip's left view (544 x 960) and, when present, the full-resolution
Pose2Sim camera it was cut from (1088 x 1920). The first frame (graph start-up) is timed apart.
Prints a table and a JSON record with the command and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

from binopose.io_utils import json_text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "src/binopose/assets/demo/left.mp4", ROOT.parent / "shared/data/pose2sim_demo/cam03.mp4"]


def machine() -> dict:
    import cv2
    import mediapipe

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores_visible": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "mediapipe": mediapipe.__version__,
        "opencv": cv2.__version__,
    }


def bench_video(path: Path, frames: int) -> dict:
    from binopose.video.detect import MediaPipeDetector
    from binopose.video.media import open_media

    src = open_media(path)
    imgs, t0 = [], time.perf_counter()
    for _, img in src.frames(0, frames + 1):
        imgs.append(img)
    decode = (time.perf_counter() - t0) / len(imgs)
    with MediaPipeDetector() as det:
        t0 = time.perf_counter()
        det.detect(imgs[0])
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = sum(bool(det.detect(img)[1].any()) for img in imgs[1:])
        per = (time.perf_counter() - t0) / (len(imgs) - 1)
    return {
        "video": str(path),
        "size": list(src.info.size),
        "frames": len(imgs) - 1,
        "found": found,
        "first_frame_s": round(first, 3),
        "detect_images_per_s": round(1 / per, 1),
        "decode_images_per_s": round(1 / decode, 1),
        "with_decode_images_per_s": round(1 / (per + decode), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--video", type=Path, nargs="+", default=[p for p in DEFAULT if p.is_file()])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = [bench_video(v, args.frames) for v in args.video]
    print(
        f"{'video':<28} {'size':>10} {'frames':>6} {'detect/s':>9} {'decode/s':>9} {'both/s':>7} {'1st (s)':>8}"
    )
    for r in rows:
        size = "x".join(map(str, r["size"]))
        print(
            f"{Path(r['video']).name:<28} {size:>10} {r['frames']:>6} {r['detect_images_per_s']:>9} "
            f"{r['decode_images_per_s']:>9} {r['with_decode_images_per_s']:>7} {r['first_frame_s']:>8}"
        )
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "results": rows,
    }
    print(json_text(record, indent=None))
    if args.json:
        args.json.write_text(json_text(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
