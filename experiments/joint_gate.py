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

import sys

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
    args = arguments(__doc__, "joint_gate", argv)
    arms = {"default": "gate-lcb-ones", "lcb-joints": "joints-lcb-ones"}
    return write(args, judged(args, "joints-lcb", arms, verdict))


if __name__ == "__main__":
    sys.exit(main())
