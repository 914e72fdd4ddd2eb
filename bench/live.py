"""binopose live on this machine: the demo clip played as two cameras (60 fps, 544 x 960).

    PYTHONPATH=src .venv/bin/python bench/live.py [--loop 3] [--skip-jitter] [--json OUT.json]

1. Real time: the two videos paced at 60 fps by their reader threads, MediaPipe on every pair the
   consumer can take (the rest are dropped), for detector input scales x refinement on/off:
   poses/s, latency (frame reached the process -> pose emitted), frames dropped.
2. Jitter: every frame processed (``--every-frame``: nothing dropped), causal One-Euro, against the
   offline result of ``binopose run`` (its detect_pair + lift on the same clip, with and without its
   forward-backward One-Euro): mean joint acceleration |x[t+1] - 2 x[t] + x[t-1]| (mm/frame^2) and
   MPJPE against the clip's 4-camera reference (mm).
Prints a table and a JSON record with the command, the machine (and its load) and the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect import machine  # noqa: E402  (bench/detect.py: cpu, cores, versions)


def jitter(X: np.ndarray) -> float:
    """Mean joint acceleration (mm/frame^2) of consecutive frames (N, 17, 3); NaN frames left out."""
    a = np.linalg.norm(X[2:] - 2 * X[1:-1] + X[:-2], axis=-1)
    return round(float(np.nanmean(a)), 2)


def mpjpe(X: np.ndarray, ref: np.ndarray) -> float:
    return round(float(np.nanmean(np.linalg.norm(X - ref, axis=-1))), 1)


class Collect:
    def __init__(self) -> None:
        self.frames, self.poses = [], []

    def write(self, msg: dict) -> None:
        self.frames.append(msg["frame"])
        self.poses.append([[np.nan] * 3 if j is None else j for j in msg["joints"]])

    def close(self) -> None:
        pass


def live_run(
    a: dict,
    rig,
    refine: bool,
    smooth: str,
    scale: float,
    every: bool,
    loop: int,
    parallel: bool = False,
    running: bool = True,
) -> tuple[dict, Collect]:
    from binopose.live.lifter import LiveConfig
    from binopose.live.session import Limits, run_live
    from binopose.live.sources import SourceOptions
    from binopose.video.detect import make_detector
    from binopose.video.pipeline import LiftConfig

    cfg = LiveConfig(
        lift=LiftConfig(refine=refine, smooth=smooth),
        det_scale=scale,
        fps=60.0,
        parallel=parallel,
        running_evidence=running,
    )
    sink = Collect()
    s = run_live(
        str(a["left"]),
        str(a["right"]),
        rig,
        cfg,
        make_detector,
        [sink],
        Limits(report_every_s=0),
        sources=SourceOptions(every_frame=every, loop=1 if every else loop),
        log=lambda _: None,
    )
    return s, sink


def realtime(a: dict, rig, loop: int) -> list[dict]:
    rows = []
    settings = [(1.0, False, False), (1.0, True, False), (0.5, False, False), (0.5, True, False)]
    for scale, refine, parallel in settings + [(0.5, False, True), (0.5, True, True)]:
        s, _ = live_run(a, rig, refine, "oneeuro", scale, False, loop, parallel)
        c = s["cameras"]["left"]
        rows.append(
            {
                "det_scale": scale,
                "parallel_detect": parallel,
                "refine": refine,
                "poses_per_s": s["poses_per_s"],
                "latency_ms_median": s["latency_ms"]["median"],
                "latency_ms_p95": s["latency_ms"]["p95"],
                "frames_per_camera": c["frames_delivered"],
                "dropped_pct": round(100 * c["frames_dropped"] / c["frames_delivered"], 1),
                "unmatched": c["frames_unmatched"],
                "poses": s["poses"],
                "lift_ms_per_pose": s["lift_ms_per_pose"],
                "cpu_s_per_pose": s["cpu_s_per_pose"],
                "cpu_cores_busy": s["cpu_cores_busy"],
            }
        )
        print(rows[-1], flush=True)
    return rows


def gil_check(a: dict, n: int = 30) -> dict:
    """Does MediaPipe release Python's GIL while it detects? A thread counting in pure Python runs
    beside n detections, then beside n sleeps of 50 ms: if detection held the GIL, the counter would
    stop (ratio near 0); what it keeps is the ratio (the CPU is shared either way)."""
    import threading

    from binopose.video.detect import make_detector
    from binopose.video.media import open_media

    imgs = [img for _, img in open_media(a["left"]).frames(0, n + 1)]
    det = make_detector()
    det.detect(imgs[0])
    rate = {}
    for mode in ("sleep", "detect"):
        stop, count = threading.Event(), [0]

        def spin(stop=stop, count=count) -> None:
            while not stop.is_set():
                count[0] += 1

        th = threading.Thread(target=spin)
        t = time.perf_counter()
        th.start()
        for img in imgs[1:]:
            if mode == "detect":
                det.detect(img)
            else:
                time.sleep(0.05)
        stop.set()
        th.join()
        rate[mode] = count[0] / (time.perf_counter() - t)
    det.close()
    return {
        "spinner_loops_per_s": {k: round(v) for k, v in rate.items()},
        "ratio": round(rate["detect"] / rate["sleep"], 2),
    }


def _cpu_per_call(fn, items: list) -> float:
    fn(items[0])  # warm-up
    t = time.process_time()
    for x in items[1:]:
        fn(x)
    return (time.process_time() - t) / (len(items) - 1)


def cpu_costs(a: dict, rig, n: int = 30) -> dict:
    """CPU seconds (all threads of the process) per call: decoding a frame, detecting at each scale,
    lifting a pair with and without refinement. The machine's load hardly changes CPU time, unlike
    wall time, so these give a quiet machine's speed (an estimate, see docs/LIVE.md)."""
    from binopose.live.lifter import LiveConfig, LiveLifter, detect_scaled
    from binopose.live.sources import Frame
    from binopose.video.detect import make_detector
    from binopose.video.media import open_media
    from binopose.video.pipeline import LiftConfig

    t = time.process_time()
    imgs = [img for _, img in open_media(a["left"]).frames(0, n + 1)]
    out = {"decode_frame": (time.process_time() - t) / len(imgs)}
    for scale in (1.0, 0.5):
        det = make_detector()
        out[f"detect_image_scale_{scale}"] = _cpu_per_call(
            lambda im, d=det, s=scale: detect_scaled(d, im, s), imgs
        )
        det.close()

    class Fixed:  # the detections of the first frame pair, so only the 3D step is timed
        def __init__(self, kp):
            self.kp = kp

        def detect(self, img):
            return self.kp + np.random.default_rng(0).normal(0, 2, self.kp.shape), np.ones(17)

    ref = np.load(a["reference"])["kp3d_ref_4view_left_mm"].astype(np.float64)
    from binopose.viz import reproject

    uv = reproject(ref[:1], rig)[0]
    for key, refine, running in (
        ("False", False, True),
        ("True", True, True),
        ("True_each_frame_alone", True, False),
    ):
        cfg = LiveConfig(lift=LiftConfig(refine=refine, smooth="oneeuro"), fps=60.0, running_evidence=running)
        lifter = LiveLifter(rig, (Fixed(uv[0]), Fixed(uv[1])), cfg)
        frames = [Frame(i, i / 60, 0.0, None) for i in range(n + 1)]
        out[f"lift_pair_refine_{key}"] = _cpu_per_call(lambda f, lf=lifter: lf(f, f), frames)
    return {k: round(v * 1e3, 2) for k, v in out.items()}  # ms


def quiet_estimate(c: dict, fps: float = 60.0, cores: int = 2) -> list[dict]:
    """poses/s a quiet machine with ``cores`` cores would reach: the consumer lifts pairs one after
    the other on one core (two detections + the 3D step) while the readers decode every frame of
    both cameras; the consumer gets a whole core if decoding fits in the others."""
    rows = []
    for scale in (1.0, 0.5):
        for refine in (False, True):
            det, lift = c[f"detect_image_scale_{scale}"], c[f"lift_pair_refine_{refine}"]
            pair_ms = 2 * det + lift
            decode_cores = 2 * fps * c["decode_frame"] / 1e3
            # --parallel-detect: the pair takes one detection + the 3D step, as long as the cores
            # left over by decoding can do the CPU work of all pairs
            parallel = min(1e3 / (det + lift), (cores - decode_cores) * 1e3 / pair_ms)
            rows.append(
                {
                    "det_scale": scale,
                    "refine": refine,
                    "cpu_ms_per_pair": round(pair_ms, 1),
                    "decode_cores": round(decode_cores, 2),
                    "poses_per_s_estimate": round(1e3 / pair_ms, 1) if decode_cores < cores - 1 else None,
                    "poses_per_s_estimate_parallel_detect": round(parallel, 1),
                }
            )
    return rows


def jitter_table(a: dict, rig, ref: np.ndarray) -> list[dict]:
    from binopose.io import load_keypoints_2d
    from binopose.smoothing import one_euro_causal
    from binopose.video.pipeline import LiftConfig, lift, run_pipeline

    rows = []
    with tempfile.TemporaryDirectory() as tmp:  # offline: binopose run's detection, then its lift
        run_pipeline(a["left"], a["right"], rig, tmp, LiftConfig(refine=False), viz=False, progress=False)
        kp = load_keypoints_2d(Path(tmp) / "keypoints_2d.npz")
    for refine in (False, True):
        for smooth in ("none", "oneeuro"):
            X = lift(kp, rig, LiftConfig(refine=refine, smooth=smooth), fps=60.0)[0].poses
            rows.append(_row("offline (binopose run)", refine, smooth, X, ref))
    for refine, smooth in ((False, "none"), (False, "oneeuro"), (True, "none"), (True, "oneeuro")):
        _, sink = live_run(a, rig, refine, smooth, 1.0, True, 1)
        X = np.asarray(sink.poses, dtype=float)
        rows.append(
            _row("live, every frame", refine, smooth + (" (causal)" if smooth != "none" else ""), X, ref)
        )
        print(rows[-1], flush=True)
        if smooth == "none":  # the causal filter's lag/jitter trade-off on these same poses
            for fc, beta in ((1.0, 0.02), (2.0, 0.005), (2.0, 0.02), (4.0, 0.01)):
                Y = one_euro_causal(X, 60.0, fc, beta)
                rows.append(_row("live, every frame", refine, f"oneeuro (causal) {fc} Hz, b={beta}", Y, ref))
    _, sink = live_run(a, rig, True, "none", 1.0, True, 1, running=False)  # each frame judged alone
    rows.append(_row("live, every frame, each frame alone", True, "none", np.asarray(sink.poses, float), ref))
    return rows


def _row(kind: str, refine: bool, smooth: str, X: np.ndarray, ref: np.ndarray) -> dict:
    return {
        "run": kind,
        "refine": refine,
        "smooth": smooth,
        "frames": len(X),
        "accel_mm_per_frame2": jitter(X),
        "mpjpe_vs_4view_mm": mpjpe(X, ref[: len(X)]),
    }


def main(argv: list[str] | None = None) -> int:
    import torch

    from binopose.cli.demo import demo_assets
    from binopose.geometry.rig import load_rig

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loop", type=int, default=3, help="play the clip N times per real-time setting")
    ap.add_argument("--skip-jitter", action="store_true")
    ap.add_argument("--only-jitter", action="store_true", help="the jitter/accuracy section alone")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # as binopose live does by default (--threads 1)
    a = demo_assets()
    rig = load_rig(a["rig"])
    ref = np.load(a["reference"])["kp3d_ref_4view_left_mm"].astype(np.float64)
    load = [os.getloadavg()]
    costs, est, gil, rt = {}, [], {}, []
    if not args.only_jitter:
        costs = cpu_costs(a, rig)
        est = quiet_estimate(costs)
        print("CPU ms per call:", costs, flush=True)
        gil = gil_check(a)
        print("GIL check:", gil, flush=True)
        rt = realtime(a, rig, args.loop)
    jt = [] if args.skip_jitter else jitter_table(a, rig, ref)
    load.append(os.getloadavg())
    print(
        f"\n{'det scale':>9} {'par.':>5} {'refine':>6} {'poses/s':>8} {'lat med':>8} {'lat p95':>8} {'dropped':>8} "
        f"{'lift ms':>8} {'CPU s/pose':>10} {'cores':>6}"
    )
    for r in rt:
        print(
            f"{r['det_scale']:>9} {str(r['parallel_detect']):>5} {str(r['refine']):>6} {r['poses_per_s']:>8} {r['latency_ms_median']:>8} "
            f"{r['latency_ms_p95']:>8} {r['dropped_pct']:>7}% {r['lift_ms_per_pose']:>8} "
            f"{r['cpu_s_per_pose']:>10} {r['cpu_cores_busy']:>6}"
        )
    print(f"\nCPU ms per call: {json.dumps(costs)}")
    print(
        f"{'det scale':>9} {'refine':>6} {'CPU ms/pair':>11} {'decode cores':>12} {'est. poses/s':>12} {'parallel':>9}"
    )
    for r in est:
        print(
            f"{r['det_scale']:>9} {str(r['refine']):>6} {r['cpu_ms_per_pair']:>11} {r['decode_cores']:>12} "
            f"{r['poses_per_s_estimate']!s:>12} {r['poses_per_s_estimate_parallel_detect']:>9}"
        )
    if jt:
        print(f"\n{'run':<24} {'refine':>6} {'smooth':<34} {'frames':>6} {'accel':>7} {'MPJPE':>6}")
        for r in jt:
            print(
                f"{r['run']:<24} {str(r['refine']):>6} {r['smooth']:<34} {r['frames']:>6} "
                f"{r['accel_mm_per_frame2']:>7} {r['mpjpe_vs_4view_mm']:>6}"
            )
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {**machine(), "load_avg_1_5_15_start_end": load, "torch_threads": 1},
        "settings": {"clip": "demo (60 fps, 544x960, 99 frames)", "loop": args.loop, "smooth": "oneeuro"},
        "gil_check": gil,
        "cpu_ms_per_call": costs,
        "quiet_machine_estimate": est,
        "realtime": rt,
        "jitter": jt,
    }
    print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
