"""Where one ``Refiner.refine`` call spends its time, and what the network's precision and
``torch.compile`` change: end-to-end (inputs and results on the CPU) and on-device rates, the
profiler's top operations, and the largest difference of each variant's poses from float32's.

    python bench/profile_refine.py [--device cuda] [--batch 65536] [--compile] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refine import _inputs, machine  # noqa: E402

from binopose.io_utils import json_text
from binopose.refiner import Refiner  # noqa: E402


def _rate(fn, n: int, sync, reps: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=65536)
    p.add_argument("--compile", action="store_true", help="also try torch.compile on the network")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    print(f"machine: {machine()}")
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    u, P = _inputs(args.batch)
    u32 = u.float()
    ud, Pd = u.to(dev), P.to(dev)
    ref = Refiner.load(device=dev)
    ref.refine(u, P)
    acts = [torch.profiler.ProfilerActivity.CPU] + (
        [torch.profiler.ProfilerActivity.CUDA] if dev.type == "cuda" else []
    )
    with torch.profiler.profile(activities=acts) as prof:
        ref.refine(u, P)
        sync()
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=30, max_name_column_width=60))
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=15, max_name_column_width=60))
    rows, ref_poses = [], None
    variants = [("float32", False), ("bfloat16", False)] + ([("float32", True)] if args.compile else [])
    for precision, compiled in variants:
        ref = Refiner.load(device=dev, precision=precision, compile=compiled)
        if compiled:  # the first call compiles
            t0 = time.perf_counter()
            ref.refine(u32, P)
            print(f"compile: {time.perf_counter() - t0:.1f} s")
        poses = ref.refine(u, P).poses
        ref_poses = poses if ref_poses is None else ref_poses
        diff = (poses - ref_poses).norm(dim=-1)
        row = {
            "precision": precision,
            "compiled": compiled,
            "end_to_end_f64": _rate(lambda ref=ref: ref.refine(u, P), args.batch, sync),
            "end_to_end_f32": _rate(lambda ref=ref: ref.refine(u32, P), args.batch, sync),
            "on_device": _rate(lambda ref=ref: ref._refine_chunk(ud, Pd, None), args.batch, sync),
            "max_diff_mm": float(diff.nan_to_num(0).max()),
            "mean_diff_mm": float(diff.nanmean()),
        }
        rows.append(row)
        print(json_text(row, indent=None))
    if args.json:
        Path(args.json).write_text(
            json_text({"machine": machine(), "batch": args.batch, "rows": rows}, indent=None)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
