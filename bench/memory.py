"""Peak memory of large inputs: the ``binopose`` CLI on N poses, refining through the Refiner, reading a
long video.

    OMP_NUM_THREADS=1 python bench/memory.py                      # refine + video, defaults below
    python bench/memory.py cli --poses 1000000 [--runs refine-npz,refine-json,eval-dualdiff,eval-cross]
    OMP_NUM_THREADS=1 python bench/memory.py refine --poses 1000000 [--model PATH]
    OMP_NUM_THREADS=1 python bench/memory.py video --frames 2000 --size 320x240

``cli``: writes a 2D keypoint file and a benchmark file of N poses (compressed .npz, written a chunk at a
time) to a temporary folder, then runs each CLI command as a subprocess and reads that process's own
peak resident set size from ``os.wait4`` (``ru_maxrss``): ``refine-npz`` / ``refine-json`` =
``binopose refine KP.npz --rig RIG --out OUT.npz|.json`` (the shipped model), ``refine-tri`` = the same
with ``--method triangulate`` (no refiner: reading, lifting and writing only), ``eval-dualdiff`` =
``binopose eval B.npz --method dualdiff --protocol raw --json J``, ``eval-cross`` = ``binopose eval
B.npz --method triangulate --protocol cross-subject --json J`` (5 subjects).

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


CLI_RUNS = {
    "refine-npz": ["refine", "{kp}", "--layout", "binopose17", "--rig", "{rig}", "--out", "{out}/poses.npz"],
    "refine-tri": ["refine", "{kp}", "--layout", "binopose17", "--rig", "{rig}", "--method", "triangulate", "--out", "{out}/tri.npz"],
    "refine-json": ["refine", "{kp}", "--layout", "binopose17", "--rig", "{rig}", "--out", "{out}/poses.json"],
    "eval-dualdiff": [
        "eval",
        "{bench}",
        "--method",
        "dualdiff",
        "--protocol",
        "raw",
        "--json",
        "{out}/e.json",
    ],
    "eval-cross": [
        "eval",
        "{bench}",
        "--method",
        "triangulate",
        "--protocol",
        "cross-subject",
        "--json",
        "{out}/c.json",
    ],
}


def write_inputs(folder: Path, n: int) -> dict[str, str]:
    """A rig, a 2D keypoint file and a benchmark file of ``n`` poses, written a chunk at a time."""
    import numpy as np
    import torch

    from binopose.geometry import project
    from binopose.geometry.rig import Camera, StereoRig, save_rig
    from binopose.stream.npz import NpzWriter

    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    rig = StereoRig(Camera("l", (1280, 720), K), Camera("r", (1280, 720), K, t=[-400.0, 0, 0]))
    save_rig(rig, folder / "rig.toml", units="mm")
    rng = np.random.default_rng(0)
    X = rng.normal(0, 250, (4096, 17, 3)) + [0, 0, 4000]
    uv = project(torch.tensor(X), rig.projection_matrices(torch.float64)).numpy()
    with NpzWriter(folder / "kp.npz") as kp, NpzWriter(folder / "bench_stereo_test.npz") as b:
        for i in range(0, n, 4096):
            m = min(4096, n - i)
            pred = (uv[:m] + rng.normal(0, 2, (m, 2, 17, 2))).astype(np.float32)
            kp.add("kp2d", pred)
            kp.add("conf", np.ones((m, 2, 17), np.float32))
            b.add("kp2d_pred", pred)
            b.add("kp2d_gt", uv[:m].astype(np.float32))
            b.add("kp3d_gt", X[:m].astype(np.float32))
            b.add("K", np.broadcast_to(K, (m, 2, 3, 3)).astype(np.float32))
            b.add("R_right_from_left", np.broadcast_to(np.eye(3), (m, 3, 3)))
            b.add("t_right_from_left_mm", np.broadcast_to([-400.0, 0, 0], (m, 3)))
            b.add("subject", np.array([f"S{k % 5 + 1}" for k in range(i, i + m)]))
            b.add("action", np.array([f"a{k % 3}" for k in range(i, i + m)]))
    return {
        "kp": str(folder / "kp.npz"),
        "bench": str(folder / "bench_stereo_test.npz"),
        "rig": str(folder / "rig.toml"),
    }


def run_cli(argv: list[str]) -> dict:
    """Run ``binopose ARGV`` and return its exit code, seconds and own peak RSS (``os.wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "binopose", *argv], stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        tails = []
        for f in (out, err):
            f.seek(0)
            tails.append(f.read().strip().splitlines()[-1:])
    return {
        "command": "binopose " + " ".join(argv),
        "rc": p.returncode,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "user_s": round(usage.ru_utime, 1),  # CPU time: the wall clock depends on the machine's load
        "sys_s": round(usage.ru_stime, 1),  # the kernel's part (page faults of mapped blocks)
        "stdout_tail": tails[0],
        "stderr_tail": tails[1],
    }


def measure_cli(n: int, runs: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="binopose_cli_mem_", dir="/tmp") as td:
        t0 = time.perf_counter()
        paths = write_inputs(Path(td), n) | {"out": td}
        res = {
            "poses": n,
            "inputs_written_s": round(time.perf_counter() - t0, 1),
            "input_mb": {k: round(os.path.getsize(paths[k]) / MB, 1) for k in ("kp", "bench")},
            "runs": {},
        }
        for name in runs:
            argv = [a.format(**paths) for a in CLI_RUNS[name]]
            res["runs"][name] = r = run_cli(argv)
            r["command"] = r["command"].replace(td, "$TMP")
            print(
                f"{name:<14} {n:>10,} poses: peak RSS {r['peak_rss_mb']:>7.0f} MB, {r['seconds']:>7.1f} s "
                f"(user {r['user_s']:.0f} s, sys {r['sys_s']:.0f} s), rc {r['rc']}",
                flush=True,
            )
    return res


def _in_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "_child", *args], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"measurement {args} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", default="all", choices=("all", "cli", "refine", "video", "_child"))
    ap.add_argument("--runs", default=",".join(CLI_RUNS), help="cli: which commands (default: all)")
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
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    if args.what == "cli":
        results["cli"] = measure_cli(args.poses, args.runs.split(","))
        print(json.dumps(results, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
        runs = results["cli"]["runs"].values()
        return 0 if all(r["rc"] == 0 and r["peak_rss_mb"] < 2048 for r in runs) else 1
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
