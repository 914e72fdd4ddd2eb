"""The do-no-harm gate with its noise estimated from the residual about its mean (issue 15): the
pre-registered rule of 2026-12-03 15:23 UTC (git log: "Pre-registered ... the gate's noise from the
residual about its mean").

    PYTHONPATH=src .venv/bin/python experiments/centred_gate.py [--json experiments/results/centred_gate.json]

Scores the default as it was before the rule ("default": the noise as the residual's mean square,
:func:`mean_square_noise_var`) and the candidate ("centred": :func:`binopose.guard.independent_noise_var`,
the library's estimate since the rule was met; everything else the default of that time: the probes
independent per joint, as they were until the rule of 18:10 UTC) on (1) the Pose2Sim capture,
every pair judged by its two held-out cameras (``pose2sim_heldout.score_all``), and (2) the
``do_no_harm`` cells for SH S8 (raw, cross-subject, official) and MHAD (raw, official).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from do_no_harm import FILES, METRICS, _metrics, folds_for, variants
from pose2sim_data import DEFAULT_DATA, load_capture
from pose2sim_heldout import make_refiner, score_all

from binopose.data.benchmark import load_benchmark
from binopose.evaluate import default_bias, triangulation_method
from binopose.guard import ResidualSums
from binopose.io_utils import atomic_write_json
from binopose.refiner import Refiner

ROOT = Path(__file__).resolve().parents[1]
CELLS = (
    ("sh_s8", "raw"),
    ("sh_s8", "cross-subject"),
    ("sh_s8", "official"),
    ("mhad", "raw"),
    ("mhad", "official"),
)


def mean_square_noise_var(sums: ResidualSums) -> torch.Tensor:
    """(J,) the gate's noise estimate before the rule: the residual's mean square over the input's
    frames (per joint, summed over views and coordinates), its shared part counted as noise."""
    return (sums.s2 / sums.n.clamp_min(1)[None, :, None]).sum((0, 2))


@contextlib.contextmanager
def uncentred() -> Iterator[None]:
    """The gate as it was before the rule (the library's gate is the centred candidate since; its
    estimate is ``ResidualSums.var``, which every path of the gate calls)."""
    original = ResidualSums.var
    ResidualSums.var = mean_square_noise_var  # type: ignore[method-assign]
    try:
        yield
    finally:
        ResidualSums.var = original  # type: ignore[method-assign]


def pose2sim() -> dict:
    candidate = make_refiner(None, "raw", "gate-lcb-ones-independent")  # the probes of that time

    def before(uv, rig, conf):
        with uncentred():
            return candidate(uv, rig, conf)

    return score_all(load_capture(DEFAULT_DATA), {"default": before, "centred": candidate})


def benchmark_cells() -> dict:
    refiner = Refiner.load()
    out = {}
    for name, protocol in CELLS:
        path, subject = FILES[name]
        if not path.exists():
            continue
        bench = load_benchmark(path)
        folds = folds_for(bench, protocol, subject)
        bias = default_bias("dualdiff", protocol)
        idx = np.concatenate([i for i, _ in folds])
        gt = bench.kp3d_gt[idx]
        tri = np.concatenate(
            [triangulation_method(bias=bias)(bench.subset(i).blind(), st) for i, st in folds]
        )
        row = {"triangulate": _metrics(tri, gt)}
        for label, ctx in (("default", uncentred), ("centred", contextlib.nullcontext)):
            with ctx():
                runs = [variants(refiner, bench.subset(i).blind(), st, bias) for i, st in folds]
            row[label] = _metrics(np.concatenate([r[0]["gate-lcb"] for r in runs]), gt)
            row[label + "_alpha"] = [r[1]["gate-lcb"]["alpha"] for r in runs]
        out[f"{name}/{protocol}"] = row
        print(name, protocol, json.dumps(row), flush=True)
    return out


def verdict(p2s: dict, cells: dict) -> dict:
    key = "heldout_reproj_px_offset_removed"
    harmed = {
        v: [pair for pair, r in p2s.items() if r[v][key] > r["triangulation"][key]]
        for v in ("default", "centred")
    }
    mean = {
        v: float(np.mean([r[v][key] for r in p2s.values()])) for v in ("default", "centred", "triangulation")
    }
    bad = [f"{c}:{m}" for c, r in cells.items() for m in METRICS if r["centred"][m] > r["triangulate"][m]]
    sh_raw = cells.get("sh_s8/raw", {}).get("centred", {}).get("mpjpe_mm")
    return {
        "pose2sim_harmed_pairs": harmed,
        "pose2sim_mean_px_offset_removed": {k: round(v, 2) for k, v in mean.items()},
        "a": len(harmed["centred"]) < len(harmed["default"]) and mean["centred"] <= 22.8,
        "b_harmed_cells": bad,
        "c": sh_raw is not None and sh_raw <= 49.71 + 0.5,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=ROOT / "experiments" / "results" / "centred_gate.json")
    args = ap.parse_args(argv)
    p2s = pose2sim()
    for pair, r in p2s.items():
        print(pair, {v: round(s["heldout_reproj_px_offset_removed"], 2) for v, s in r.items()}, flush=True)
    cells = benchmark_cells()
    result = {"command": " ".join(sys.argv), "pose2sim": p2s, "cells": cells, "verdict": verdict(p2s, cells)}
    print(json.dumps(result["verdict"], indent=1))
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
