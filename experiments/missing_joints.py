"""A joint that no two views triangulate, and what it costs the other joints (issue 15): the
pre-registered rule of 2026-12-03 21:18 UTC (git log: "Pre-registered ... missing keypoints").

    PYTHONPATH=src .venv/bin/python experiments/missing_joints.py [--json experiments/results/missing_joints.json]

The Stacked-Hourglass development file, subject S8, raw protocol (real detections). In 20 % of the
frames one random joint (never the pelvis) drops out of one random view (NaN, confidence 0). Scored:
the MPJPE of the *other* joints against the truth, minus the same with nothing dropped, for the network
alone (definitions kept, no gate) and for the CLI default, at K = 1 and K = 3. Three ways for the
network to take such a joint (``diffusion.sampling``, switched here by ``MISSING_MODE``, which exists
only while the rule is judged): A as before (centroid fill, the seen view's residual as evidence), B no
evidence from either view, C B plus one network pass whose guess replaces the centroid fill.
The rule failed (A stays), and the switch was removed afterwards: run this script at commit 298fe55,
where ``diffusion/sampling.py`` still reads ``MISSING_MODE``; on later commits every mode is A.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from binopose.data.benchmark import load_benchmark
from binopose.io_utils import atomic_write_json
from binopose.refiner import RefineOptions, Refiner
from binopose.skeleton import ROOT as PELVIS

ROOT = Path(__file__).resolve().parents[1]
SH = ROOT.parent / "shared" / "data" / "h36m_sh_train" / "h36m_sh_stereo_train.npz"
SHARE = 0.2  # of the frames lose one joint in one view
MODES = ("A", "B", "C")


def dropped(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, joints, views) of the dropped keypoints: SHARE of n frames, one joint each."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, int(round(SHARE * n)), replace=False))
    joints = rng.choice([j for j in range(17) if j != PELVIS], len(rows))
    return rows, joints, rng.integers(0, 2, len(rows))


def others_mpjpe(pred: np.ndarray, gt: np.ndarray, hole: np.ndarray) -> float:
    """Mean joint error over the (frame, joint) pairs that were not dropped (a pelvis taken from a
    dropped hip is NaN, in every mode alike, and left out)."""
    err = np.linalg.norm(pred - gt, axis=-1)
    return float(np.nanmean(err[~hole]))


def run() -> dict:
    refiner = Refiner.load()
    bench = load_benchmark(SH)
    s8 = bench.subset(np.flatnonzero(bench.subject == "S8"))
    P = s8.projection_matrices()
    u = torch.from_numpy(s8.kp2d_pred.astype(np.float64))
    gt = s8.kp3d_gt.astype(np.float64)
    rows, joints, views = dropped(len(u))
    hole = np.zeros(gt.shape[:2], bool)
    hole[rows, joints] = True
    gap, conf = u.clone(), torch.ones(u.shape[:3], dtype=torch.float64)
    gap[rows, views, joints] = float("nan")
    conf[rows, views, joints] = 0.0
    out: dict = {"frames": len(u), "dropped": len(rows), "cells": {}}
    network_rows = {}
    for k in (1, 3):
        for setting in ("network", "default"):
            opts = RefineOptions(steps=k)
            if setting == "network":
                opts = replace(opts, gate="off")
            full = refiner.refine(u, P, options=opts).poses.numpy()
            base = others_mpjpe(full, gt, hole)
            cell = {"full": round(base, 3)}
            for mode in MODES:
                os.environ["MISSING_MODE"] = mode
                got = refiner.refine(gap, P, conf, options=opts).poses.numpy()
                cell[mode] = round(others_mpjpe(got, gt, hole) - base, 3)
                if setting == "network" and k == 1:
                    network_rows[mode] = refiner.network_pass(gap, P, conf, opts).numpy()
            out["cells"][f"{setting}/K={k}"] = cell
            print(
                f"{setting} K={k}: full {base:.2f} mm, excess "
                + ", ".join(f"{m} {cell[m]:+.3f}" for m in MODES),
                flush=True,
            )
    kept = np.setdiff1d(np.arange(len(u)), rows)
    out["observed_rows_max_diff_mm_C_vs_B"] = float(
        np.abs(network_rows["C"][kept] - network_rows["B"][kept]).max()
    )
    cells = out["cells"].values()
    b_ok = all(c["B"] < c["A"] for c in cells)
    c_ok = b_ok and all(c["C"] <= c["B"] for c in cells) and out["observed_rows_max_diff_mm_C_vs_B"] < 1e-9
    out["verdict"] = {"B_adopted": b_ok, "C_adopted": c_ok}
    print(json.dumps(out["verdict"]), "observed rows C vs B:", out["observed_rows_max_diff_mm_C_vs_B"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not SH.exists():
        print(f"missing {SH}", file=sys.stderr)
        return 2
    out = run()
    if args.json:
        atomic_write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
