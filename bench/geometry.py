"""Speed of the geometry kernels: poses/s of triangulation and projection at several batch sizes.

    python bench/geometry.py [--batches 1 1000 100000] [--dtype float32] [--json OUT.json]

A pose is 17 joints seen by 2 views; every frame has its own projection matrices (as in the
``*_stereo_test.npz`` format, where K is per frame). Each timing is the best of several repeats.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from binopose.geometry import project, triangulate
from binopose.io_utils import json_text

JOINTS, VIEWS = 17, 2


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _scene(batch: int, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random poses ~3 m in front of a 0.25 m convergent pair, per-frame P: (X, P, uv)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(batch, JOINTS, 3, generator=g, dtype=torch.float64) * 400 + torch.tensor(
        [0.0, 0.0, 3000.0]
    )
    f = 1000 + 50 * torch.rand(batch, VIEWS, generator=g, dtype=torch.float64)
    K = torch.zeros(batch, VIEWS, 3, 3, dtype=torch.float64)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 1] = f, f, 0.5
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = 192.0, 192.0, 1.0
    a = torch.tensor(0.08, dtype=torch.float64)
    R = torch.eye(3, dtype=torch.float64).repeat(batch, VIEWS, 1, 1)
    R[:, 1, 0, 0], R[:, 1, 0, 2], R[:, 1, 2, 0], R[:, 1, 2, 2] = a.cos(), -a.sin(), a.sin(), a.cos()
    t = torch.zeros(batch, VIEWS, 3, 1, dtype=torch.float64)
    t[:, 1, 0] = -250.0
    P = K @ torch.cat([R, t], -1)
    uv = project(X, P)
    return X.to(dtype), P.to(dtype), uv.to(dtype)


def _best_time(fn, min_total: float, max_reps: int) -> float:
    fn()  # warm-up
    times: list[float] = []
    while len(times) < max_reps and (sum(times) < min_total or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(batches: list[int], dtype: torch.dtype, min_total: float) -> list[dict]:
    rows = []
    for batch in batches:
        X, P, uv = _scene(batch, dtype)
        reps = 2000 if batch <= 10 else 200 if batch <= 10_000 else 7
        cases = (
            ("triangulate", functools.partial(triangulate, uv, P)),
            ("triangulate, one P for all", functools.partial(triangulate, uv, P[0])),
            ("project", functools.partial(project, X, P)),
        )
        for kernel, fn in cases:
            dt = _best_time(fn, min_total, reps)
            rows.append({"kernel": kernel, "batch": batch, "seconds": dt, "poses_per_s": batch / dt})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 1000, 100_000])
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--min-seconds", type=float, default=0.5, help="time each case at least this long")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--json", metavar="OUT.json", help="also write the results as JSON")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    rows = run(args.batches, getattr(torch, args.dtype), args.min_seconds)
    command = "python " + " ".join(
        shlex.quote(a) for a in (sys.argv if argv is None else ["bench/geometry.py", *argv])
    )
    print(f"command: {command}")
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} with {machine['torch_threads']} threads"
    )
    print(f"dtype: {args.dtype}; {VIEWS} views, {JOINTS} joints, per-frame projection matrices")
    print(f"{'kernel':<28}{'batch':>9}{'time':>12}{'poses/s':>14}")
    for r in rows:
        print(f"{r['kernel']:<28}{r['batch']:>9}{r['seconds'] * 1e3:>10.3f}ms{r['poses_per_s']:>14,.0f}")
    if args.json:
        doc = {"command": command, "machine": machine, "dtype": args.dtype, "results": rows}
        Path(args.json).write_text(json_text(doc) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
