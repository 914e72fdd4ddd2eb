"""Peak memory of large inputs: refining many poses through the Refiner, and reading a long video.

    OMP_NUM_THREADS=1 python bench/memory.py                      # both, defaults below
    OMP_NUM_THREADS=1 python bench/memory.py refine --poses 1000000 [--model PATH]
    OMP_NUM_THREADS=1 python bench/memory.py video --frames 2000 --size 320x240

Each measurement runs in a fresh subprocess and reads its peak resident set size with
``resource.getrusage`` (``ru_maxrss``). ``refine``: random stereo 2D keypoints of N poses (float32,
what a keypoint file holds) through :meth:`binopose.refiner.Refiner.refine`; without ``--model``
a randomly initialised default-size Denoiser is saved as a model folder the way ``train.py`` does
(memory does not depend on the weights). ``video``: an MJPG/mp4v clip of F frames is written to
/tmp with ``cv2.VideoWriter`` and read back through :func:`binopose.video.media.open_media`; the peak
after the first 10% of the frames is compared with the peak after all of them (flat = streaming).
Prints a table and a JSON summary (command, machine, numbers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1024 * 1024


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def random_model(folder: Path) -> Path:
    import torch

    from binopose.bundle import write_bundle
    from binopose.data.presets import NoiseConfig, build_error_models
    from binopose.diffusion.conditioning import Conditioning
    from binopose.diffusion.schedule import Schedule
    from binopose.model import Denoiser, DenoiserConfig

    torch.manual_seed(0)
    cfg = DenoiserConfig()
    models, weights = build_error_models(NoiseConfig())
    state = Denoiser(cfg).state_dict()
    return write_bundle(folder, state, cfg, Schedule(), Conditioning(), models, weights, train={})


def child_refine(n: int, model: str | None, chunk: int) -> dict:
    import numpy as np
    import torch

    from binopose.geometry import project
    from binopose.geometry.rig import Camera, StereoRig
    from binopose.refiner import Refiner

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    rig = StereoRig(Camera("l", (1280, 720), K), Camera("r", (1280, 720), K, t=[-400.0, 0, 0]))
    with tempfile.TemporaryDirectory() as td:
        path = model or random_model(Path(td) / "model")
        ref = Refiner.load(path, **({"chunk": chunk} if chunk > 0 else {}))
    base = peak_mb()
    # N poses: 4096 distinct ones projected into the rig, tiled with pixel noise (float32, like a file)
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(0, 250, (4096, 17, 3)) + [0, 0, 4000])
    uv = project(X, rig.projection_matrices(torch.float64)).numpy().astype(np.float32)
    kp = np.empty((n, 2, 17, 2), np.float32)
    for i in range(0, n, 4096):
        m = min(4096, n - i)
        kp[i : i + m] = uv[:m] + rng.normal(0, 2, (m, 2, 17, 2)).astype(np.float32)
    inputs = peak_mb()
    t0 = time.perf_counter()
    res = ref.refine(kp, rig)
    seconds = time.perf_counter() - t0
    finite = float(torch.isfinite(res.poses).all(-1).float().mean())
    return {
        "poses": n,
        "chunk": ref.chunk,
        "peak_rss_mb": round(peak_mb(), 1),
        "after_model_load_mb": round(base, 1),
        "after_inputs_mb": round(inputs, 1),
        "input_mb": round(kp.nbytes / MB, 1),
        "output_mb": round(
            sum(t.numel() * t.element_size() for t in (res.poses, res.uncertainty, res.triangulated)) / MB, 1
        ),
        "seconds": round(seconds, 1),
        "poses_per_s": round(n / seconds),
        "finite_joints": round(finite, 4),
    }


def child_video(path: str, frames: int) -> dict:
    from binopose.video.media import open_media

    src = open_media(path)
    first = max(1, frames // 10)
    n, t0 = 0, time.perf_counter()
    peak_first = None
    for _, _img in src.frames():
        n += 1
        if n == first:
            peak_first = peak_mb()
    w, h = src.info.size
    return {
        "frames_read": n,
        "frames_in_info": src.info.frames,
        "size": f"{w}x{h}",
        "whole_clip_mb": round(n * w * h * 3 / MB, 1),
        "peak_after_first_10pct_mb": round(peak_first or 0, 1),
        "peak_after_all_mb": round(peak_mb(), 1),
        "growth_mb": round(peak_mb() - (peak_first or 0), 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def write_video(path: Path, frames: int, size: tuple[int, int]) -> None:
    import cv2
    import numpy as np

    w, h = size
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    for i in range(frames):
        img = np.roll(base, i, axis=1)
        cv2.putText(img, str(i), (10, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
        vw.write(img)
    vw.release()


def _in_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "_child", *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"measurement {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="all", choices=("all", "refine", "video", "_child"))
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--poses", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=0, help="Refiner chunk size (default: the Refiner's own)")
    ap.add_argument("--model", help="model folder (default: a random-init default-size model)")
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--json", metavar="OUT.json")
    args = ap.parse_args()
    if args.what == "_child":
        kind, *rest = args.rest
        if kind == "refine":
            res = child_refine(int(rest[0]), rest[1] or None, int(rest[2]))
        else:
            res = child_video(rest[0], int(rest[1]))
        print(json.dumps(res))
        return 0
    results: dict = {
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
    }
    if args.what in ("all", "refine"):
        results["refine"] = _in_child("refine", str(args.poses), args.model or "", str(args.chunk))
        r = results["refine"]
        print(
            f"refine {r['poses']:,} poses: peak RSS {r['peak_rss_mb']:.0f} MB (target < 2048; inputs "
            f"{r['input_mb']:.0f} MB, outputs {r['output_mb']:.0f} MB, after model load "
            f"{r['after_model_load_mb']:.0f} MB), {r['seconds']} s, {r['poses_per_s']:,} poses/s"
        )
    if args.what in ("all", "video"):
        w, h = (int(x) for x in args.size.split("x"))
        with tempfile.TemporaryDirectory(prefix="binopose_mem_", dir="/tmp") as td:
            path = Path(td) / "long.mp4"
            write_video(path, args.frames, (w, h))
            results["video"] = _in_child("video", str(path), str(args.frames))
        v = results["video"]
        print(
            f"video {v['frames_read']} frames {v['size']}: peak RSS {v['peak_after_first_10pct_mb']:.0f} MB "
            f"after 10%, {v['peak_after_all_mb']:.0f} MB after all (growth {v['growth_mb']} MB; the "
            f"whole clip decoded would be {v['whole_clip_mb']:.0f} MB)"
        )
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    ok = results.get("refine", {}).get("peak_rss_mb", 0) < 2048
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
