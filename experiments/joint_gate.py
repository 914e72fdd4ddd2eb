"""A shrinkage per joint in the do-no-harm gate (issue 15): the pre-registered rule of 2026-12-03 17:43
UTC (git log: "Pre-registered ... a shrinkage per joint in the do-no-harm gate").

    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, every column
    PYTHONPATH=src .venv/bin/python experiments/joint_gate.py [--json experiments/results/joint_gate.json]

Stein's risk estimate is a sum over output joints, so the gate can take one shrinkage per joint
(``gate="lcb-joints"``, :meth:`binopose.guard.SteinSums.shrinkage`) instead of one for all. This script
scores it against the default on the Pose2Sim capture (``candidate.pose2sim``) and reads the six
benchmark cells from ``experiments/results/do_no_harm.json`` (column ``joints-lcb`` against
``gate-lcb``). Condition (d), ``tests/test_do_no_harm.py`` with it as the default, is run by hand:
``RefineOptions.gate`` set to "lcb-joints" in a scratch edit, then ``pytest tests/test_do_no_harm.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from candidate import (
    DEFAULT_POSE2SIM_PX,
    DEFAULT_POSE2SIM_WORSE_PAIRS,
    DEFAULT_SIX_CELL_MPJPE,
    RESULTS,
    cells_summary,
    load_inputs,
    pose2sim_summary,
)

from binopose.io_utils import atomic_write_json


def verdict(p2s: dict, table: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    p, c = pose2sim_summary(p2s), cells_summary(table, "joints-lcb")
    return {
        "pose2sim": p,
        "cells": c,
        "a": not c["harmed"] and c["cells"] == 6,
        "b": c["mean_mpjpe"]["joints-lcb"] <= DEFAULT_SIX_CELL_MPJPE - 0.2
        and max(c["mpjpe_minus_default"].values()) <= 0.2,
        "c": p["mean_px_offset_removed"]["lcb-joints"] <= DEFAULT_POSE2SIM_PX
        and len(p["worse_than_triangulation"]["lcb-joints"]) <= DEFAULT_POSE2SIM_WORSE_PAIRS,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=RESULTS / "joint_gate.json")
    ap.add_argument("--cells", type=Path, default=RESULTS / "do_no_harm.json")
    ap.add_argument("--reuse-pose2sim", action="store_true", help="take the Pose2Sim scores from --json")
    args = ap.parse_args(argv)
    arms = {"default": "gate-lcb-ones", "lcb-joints": "joints-lcb-ones"}
    p2s, table = load_inputs(args.json, args.cells, "joints-lcb", arms, args.reuse_pose2sim)
    result = {
        "command": " ".join(sys.argv),
        "pose2sim": p2s,
        "verdict": None if table is None else verdict(p2s, table),
    }
    print(json.dumps(result["verdict"], indent=1))
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
