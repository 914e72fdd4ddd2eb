"""Keep the detector's definitions at the torso only (issue 15): the pre-registered rule of 2026-12-03
17:38 UTC (git log: "Pre-registered ... keep the torso's definitions only").

    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, both arms
    PYTHONPATH=src .venv/bin/python experiments/keep_torso.py [--json experiments/results/keep_torso.json]

The candidate (``definitions="keep-torso"``, :func:`binopose.offsets.kept_joints`) removes the
systematic body-frame part of the network's correction only at the joints whose definitions differ
between datasets (and the pelvis); at ankles, knees, wrists and elbows that part stays. The default
(``"keep"``) removes it everywhere. Both are followed by the lcb gate. This script scores both on the
Pose2Sim capture (every pair judged by its two held-out cameras, ``pose2sim_heldout.score_all``) and
reads the six benchmark cells from ``experiments/results/do_no_harm.json`` (``torso-lcb`` against
``gate-lcb``), then applies the rule.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from candidate import (
    DEFAULT_POSE2SIM_PX,
    DEFAULT_POSE2SIM_WORSE_PAIRS,
    DEFAULT_SIX_CELL_MPJPE,
    arguments,
    cells_summary,
    judged,
    pose2sim_summary,
    write,
)

from binopose.geometry import project, triangulate
from binopose.offsets import apply_body_offsets, body_frames
from binopose.refiner import RefineOptions, Refiner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the convention test's synthetic views
from helpers import stereo_views  # noqa: E402


def _systematic(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    R = body_frames(truth)
    return np.linalg.norm(np.einsum("nij,nki->nkj", R, pred - truth).mean(0), axis=-1)


def convention() -> dict:
    """Condition (d): the input of ``tests/test_do_no_harm.py::test_another_joint_convention_is_kept``
    (wider hips, a lower pelvis, a higher head, 4 px noise; 200 synthetic frames). Per arm and gate: the
    largest systematic body-frame move beyond triangulation's own (the test allows 6 mm) and the MPJPE."""
    X, P, _ = stereo_views(200, seed=2)
    offsets = np.zeros((17, 3))
    offsets[[2, 3]] = [[-30, 0, 0], [30, 0, 0]]
    offsets[6] = [0, 0, -50]
    offsets[9] = [0, 10, 40]
    truth = apply_body_offsets(X.numpy(), offsets)
    u = project(torch.from_numpy(truth), P)
    u = u + torch.randn(u.shape, generator=torch.Generator().manual_seed(0), dtype=u.dtype) * 4.0
    T = triangulate(u, P).numpy()
    base, refiner, out = _systematic(T, truth), Refiner.load(), {}
    out["triangulation_mpjpe"] = round(float(np.linalg.norm(T - truth, axis=-1).mean()), 2)
    for definitions in ("keep", "keep-torso"):
        for g in ("off", "mean", "lcb"):
            F = refiner.refine(u, P, options=RefineOptions(gate=g, definitions=definitions)).poses.numpy()
            out[f"{definitions}/{g}"] = {
                "max_systematic_move_mm": round(float((_systematic(F, truth) - base).max()), 2),
                "mpjpe": round(float(np.linalg.norm(F - truth, axis=-1).mean()), 2),
            }
    return out


def verdict(p2s: dict, table: dict) -> dict:
    """The rule's conditions (a)-(c); (d) is :func:`convention`."""
    p, c = pose2sim_summary(p2s), cells_summary(table, "torso-lcb")
    return {
        "pose2sim": p,
        "cells": c,
        "a": not c["harmed"] and c["cells"] == 6,
        "b": c["mean_mpjpe"]["torso-lcb"] <= DEFAULT_SIX_CELL_MPJPE - 1.0,
        "c": p["mean_px_offset_removed"]["keep-torso"] <= DEFAULT_POSE2SIM_PX + 0.05
        and len(p["worse_than_triangulation"]["keep-torso"]) <= DEFAULT_POSE2SIM_WORSE_PAIRS,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "keep_torso", argv)
    arms = {"default": "gate-lcb-ones", "keep-torso": "torso-lcb-ones"}
    result = judged(args, "torso-lcb", arms, verdict)
    result["convention"] = conv = convention()
    print(json.dumps(conv))
    if result["verdict"] is not None:
        moves = [conv[f"keep-torso/{g}"]["max_systematic_move_mm"] for g in ("off", "mean", "lcb")]
        result["verdict"]["d"] = max(moves) < 6.0
        result["verdict"]["adopted"] = all(result["verdict"][k] for k in "abcd")
    return write(args, result)


if __name__ == "__main__":
    sys.exit(main())
