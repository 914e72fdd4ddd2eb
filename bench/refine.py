"""Speed and memory of Dual-Diffusion refinement: triangulate, denoise, project (``Refiner.refine``).

    python bench/refine.py [--model PATH] [--batches 1 256 4096 65536] [--million 1000000] [--device cuda]
                           [--json OUT]

Every configuration runs in a fresh subprocess, so that its peak resident memory (``ru_maxrss``,
which includes the ~0.3 GB of the interpreter and torch) is its own. Inputs are synthetic poses in
front of random virtual rigs (per-frame projection matrices) with 2 px of per-view 2D noise; the
peak-memory row streams ``--million`` poses seen by one rig (one (2, 3, 4) matrix) through the
Refiner, float32 input. Without ``--model`` the network is randomly initialised from the ``model``
section of ``configs/default.yaml`` (speed does not depend on the weights). Times are the best of
several repeats after a warm-up; latency is the median of single-pose calls. With ``--device cuda``
the Refiner runs on the GPU with inputs and results on the CPU (the transfers are timed too), and the
rows add the GPU's peak allocated memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from binopose.io_utils import json_text

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "gpu": gpu,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_avg": os.getloadavg(),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_gpu_mb() -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_initialized() else None


def run_isolated(script: Path, case: dict, threads: int) -> dict:
    """Run ``script --case JSON`` in a fresh interpreter; it prints one JSON line as its result."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads > 0 else dict(os.environ)
    cmd = [sys.executable, str(script), "--case", json.dumps(case)]
    if threads > 0:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def default_model_config() -> dict:
    import yaml

    return (yaml.safe_load((ROOT / "configs" / "default.yaml").read_text()) or {}).get("model", {})


def print_table(rows: list[dict], cols: list[str]) -> None:
    width = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(c.rjust(width[c]) for c in cols))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).rjust(width[c]) for c in cols))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"
    if isinstance(v, int):
        return f"{v:,}"
    return "" if v is None else str(v)


# ---------------------------------------------------------------- one configuration (subprocess)


def _refiner(model: str | None, **options: object):
    import torch

    from binopose.config import from_dict
    from binopose.data.presets import NoiseConfig, build_error_models
    from binopose.diffusion.schedule import Schedule
    from binopose.model import Denoiser, DenoiserConfig
    from binopose.refiner import Refiner, split_settings

    if model:
        return Refiner.load(model, **options)
    torch.manual_seed(0)
    net = Denoiser(from_dict(DenoiserConfig, default_model_config())).eval()
    models, _ = build_error_models(NoiseConfig())
    opts, settings = split_settings(options)
    return Refiner(net, Schedule(), {m.name: m for m in models}, options=opts, **settings)


def _inputs(n: int, seed: int = 0):
    """(n, 2, 17, 2) float64 noisy 2D and (n, 2, 3, 4) projection matrices of random virtual rigs."""
    import torch

    from binopose.data.rigs import RigConfig
    from binopose.data.synth import AugmentConfig, make_batch

    gen = torch.Generator().manual_seed(seed)
    poses = torch.randn(n, 17, 3, generator=gen, dtype=torch.float64) * 250
    b = make_batch(poses, RigConfig(), AugmentConfig(), gen)
    return b.u + 2.0 * torch.randn(b.u.shape, generator=gen, dtype=torch.float64), b.P


def _best(fn, reps: int, min_seconds: float) -> float:
    fn()  # warm-up
    times: list[float] = []
    while len(times) < reps or sum(times) < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50 * reps:
            break
    return min(times)


def run_case(case: dict) -> dict:
    import torch

    options = {k: case[k] for k in ("steps", "hypotheses", "device", "precision", "compile") if k in case}
    ref = _refiner(case.get("model"), **options)
    kind, batch = case["kind"], case["batch"]
    if kind == "latency":
        u, P = _inputs(256)
        ref.refine(u[:1], P[:1])
        ms = []
        for i in range(case.get("calls", 300)):
            t0 = time.perf_counter()
            ref.refine(u[i % 256 : i % 256 + 1], P[i % 256 : i % 256 + 1])
            ms.append((time.perf_counter() - t0) * 1000)
        return {"median_ms": statistics.median(ms), "poses_per_s": 1000 / statistics.median(ms)}
    if kind == "stream":
        u, P = _inputs(4096)
        kp = u.float().numpy()
        rig = P[0].float()
        pose_in = torch.from_numpy(kp).repeat(batch // 4096 + 1, 1, 1, 1)[:batch]
        del u, P, kp
        t0 = time.perf_counter()
        res = ref.refine(pose_in, rig)
        dt = time.perf_counter() - t0
        assert res.poses.shape[0] == batch
        return {"seconds": dt, "poses_per_s": batch / dt}
    u, P = _inputs(batch)
    reps = 20 if batch <= 256 else 3 if batch <= 4096 else 1
    dt = _best(lambda: ref.refine(u, P), reps, 1.0 if batch <= 4096 else 0.0)
    return {"seconds": dt, "poses_per_s": batch / dt}


# ---------------------------------------------------------------- driver


COLS = [
    "what",
    "device",
    "precision",
    "compile",
    "batch",
    "steps",
    "hypotheses",
    "poses_per_s",
    "median_ms",
    "peak_rss_mb",
    "peak_gpu_mb",
]


def cases(args: argparse.Namespace) -> list[dict]:
    base = {
        "model": args.model,
        "steps": 1,
        "hypotheses": 1,
        "device": args.device,
        "precision": args.precision,
        "compile": args.compile,
    }
    out = [{**base, "kind": "batch", "batch": b} for b in args.batches]
    if args.no_extras:
        return out + ([{**base, "kind": "stream", "batch": args.million}] if args.million > 0 else [])
    out.append({**base, "kind": "latency", "batch": 1})
    for k in (2, 3):
        out.append({**base, "kind": "batch", "batch": 4096, "steps": k})
    out.append({**base, "kind": "batch", "batch": 4096, "hypotheses": 5})
    if args.million > 0:
        out.append({**base, "kind": "stream", "batch": args.million})
    return out


def bench_start(args: argparse.Namespace, run_case) -> tuple[str, dict] | None:
    """Shared start of the bench scripts: torch threads; in the ``--case`` child process run the case,
    print its JSON and return None; else print and return the command line and the machine."""
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    if args.case:
        result = run_case(json.loads(args.case))
        print(
            json_text(
                {
                    **result,
                    "peak_rss_mb": peak_rss_mb(),
                    "peak_gpu_mb": peak_gpu_mb(),
                    "torch_threads": machine()["torch_threads"],
                },
                indent=None,
            )
        )
        return None
    command = shlex.join([Path(sys.executable).name, *sys.argv])
    info = machine()
    print(f"command: {command}\nmachine: {info}")
    return command, info


def add_common(p: argparse.ArgumentParser) -> None:
    """The options every bench script shares."""
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--case", default=None, help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder or .safetensors (default: random init)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 256, 4096, 65536])
    p.add_argument("--precision", default="float32", choices=("float32", "bfloat16"), help="the network's")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--no-extras", action="store_true", help="only the batch rows (no latency, K, H rows)")
    p.add_argument("--million", type=int, default=1_000_000, help="poses for the peak-memory row (0: skip)")
    add_common(p)
    args = p.parse_args(argv)
    head = bench_start(args, run_case)
    if head is None:
        return 0
    command, info = head
    rows = []
    for c in cases(args):
        r = {**c, **run_isolated(Path(__file__), c, args.threads)}
        r["what"] = {
            "batch": "refine",
            "latency": "single-pose latency",
            "stream": "stream (1 rig, float32)",
        }[c["kind"]]
        rows.append(r)
        print_table([r], COLS)
    print()
    print_table(rows, COLS)
    if args.json:
        Path(args.json).write_text(json_text({"command": command, "machine": info, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
