"""Scaling with torch.distributed: samples/s of training and frames/s of refinement for 1, 2, ... processes.

    python bench/scaling.py [--procs 1 2] [--batch 256] [--steps 6] [--frames 4096] [--device cuda] [--json OUT]

Training: the real ``binopose.training.train`` step (``setup`` + ``train_step``: batch drawing, dual forward
process, loss, DDP backward with the gradient all-reduce, AdamW, EMA) with the model of
``configs/default.yaml``, ``--batch`` as the *global* batch (each of W ranks draws batch / W), on a
synthetic pose corpus; the rate is global samples over the wall time of ``--steps`` steps after two
warm-up steps, measured on rank 0 after a barrier. Refinement: ``Refiner.refine`` with the shipped model
(gate lcb: two network passes) on ``--frames`` synthetic stereo frames, ``distributed=True`` (whole
chunks of ``--chunk`` frames per rank, the result gathered on every rank). One process runs without
torchrun (today's command); W > 1 runs under ``torchrun --nproc-per-node W``. Each process gets
``--threads`` torch threads (default 1: a rank's own resources stay fixed; 0: the machine's cores / W).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refine import _inputs, bench_start, default_model_config, print_table  # noqa: E402

from binopose.io_utils import json_text

HERE = Path(__file__).resolve()


def _train_rate(case: dict) -> float:
    import numpy as np
    import torch

    from binopose import distributed
    from binopose.config import from_dict
    from binopose.training.train import TrainConfig, setup, train_step

    folder = Path(case["tmp"])
    poses = np.random.default_rng(0).normal(0, 250, (4000, 17, 3)).astype(np.float32)
    if distributed.is_main():
        np.savez(folder / "corpus.npz", kp3d_world_mm=poses, subject=np.array(["S1"] * 3000 + ["S8"] * 1000))
    if distributed.active():  # the corpus is written before any rank reads it
        torch.distributed.barrier()
    cfg = from_dict(
        TrainConfig,
        {
            "out": str(folder / f"run{distributed.world()}"),
            "batch_size": case["batch"],
            "steps": 1000,
            "val_size": 8,
            "device": case["device"],
            "corpora": [{"path": str(folder / "corpus.npz")}],
            "holdout_every_nth_clip": 0,
            "noise": {"fit_from": ""},
            "model": default_model_config(),
        },
    )
    run = setup(cfg)
    for _ in range(2):
        train_step(run)
    _sync(case["device"])
    t0 = time.perf_counter()
    for _ in range(case["steps"]):
        train_step(run)
    _sync(case["device"])
    return case["batch"] * case["steps"] / (time.perf_counter() - t0)


def _refine_rate(case: dict) -> float:
    from binopose.refiner import Refiner

    ref = Refiner.load(None, device=case["device"], chunk=case["chunk"], distributed=True)
    u, P = _inputs(case["frames"])
    ref.refine(u[: case["chunk"]], P[: case["chunk"]])  # warm-up
    _sync(case["device"])
    t0 = time.perf_counter()
    ref.refine(u, P)
    _sync(case["device"])
    return case["frames"] / (time.perf_counter() - t0)


def _sync(device: str) -> None:
    import torch

    from binopose import distributed

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    if distributed.active():
        torch.distributed.barrier()


def run_case(case: dict) -> dict:
    from binopose import distributed

    with distributed.process_group(case["device"]):
        result = {"train_samples_per_s": _train_rate(case), "refine_frames_per_s": _refine_rate(case)}
        return result if distributed.is_main() else {}


def launch(case: dict, procs: int, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    args = [str(HERE), "--threads", str(threads), "--case", json.dumps(case)]
    if procs > 1:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args = ["-m", "torch.distributed.run", f"--nproc-per-node={procs}", f"--master-port={port}", *args]
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"{procs} process(es) failed:\n{out.stderr[-3000:]}")
    return json.loads([line for line in out.stdout.splitlines() if "train_samples_per_s" in line][-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    p.add_argument("--batch", type=int, default=256, help="global training batch (default 256)")
    p.add_argument("--steps", type=int, default=6, help="timed training steps (default 6)")
    p.add_argument("--frames", type=int, default=4096, help="frames to refine (default 4096)")
    p.add_argument(
        "--chunk", type=int, default=512, help="refiner chunk, a rank's unit of work (default 512)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (one GPU per process)")
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads per process (default 1; 0: cores / processes)"
    )
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    started = bench_start(args, run_case)
    if started is None:
        return 0
    command, info = started
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for procs in args.procs:
            threads = args.threads or max(1, (os.cpu_count() or 1) // procs)
            case = {k: getattr(args, k) for k in ("batch", "steps", "frames", "chunk", "device")} | {
                "tmp": tmp
            }
            rows.append({"processes": procs, "threads_each": threads, **launch(case, procs, threads)})
    base = rows[0]
    for r in rows:
        r["train_speedup"] = r["train_samples_per_s"] / base["train_samples_per_s"]
        r["refine_speedup"] = r["refine_frames_per_s"] / base["refine_frames_per_s"]
    cols = ["processes", "threads_each", "train_samples_per_s", "train_speedup", "refine_frames_per_s"]
    print_table(rows, [*cols, "refine_speedup"])
    result = {"command": command, "machine": info, "batch": args.batch, "frames": args.frames, "rows": rows}
    print(json_text(result, indent=None))
    if args.json:
        Path(args.json).write_text(json_text(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
