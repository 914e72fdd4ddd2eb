"""The gate's shrinkage in two parts, position and shape (issue 15): the pre-registered rule of
2026-12-03 18:23 UTC (git log: "Pre-registered ... the gate's shrinkage in two parts").

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed 2 --arms default,split \\
        --json experiments/results/stress_seed2.json --png docs/img/stress_seed2.png
    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, every column
    PYTHONPATH=src .venv/bin/python experiments/split_gate.py [--json experiments/results/split_gate.json]

The candidate (``gate="lcb-split"``, :class:`binopose.guard.Split`) shrinks the correction's per-frame
mean over the joints (where the pose is) and the rest (its shape) by separate alphas, each at the 90 %
lower bound, with the default's common probes. Judged on (a) the stress study's fresh draw (seed 2),
(b) the six ``do_no_harm`` cells (column ``split-lcb``), (c) the Pose2Sim held-out judge, (d) the tests
with it as the default (by hand: ``RefineOptions.gate`` set to "lcb-split", then ``pytest
tests/test_do_no_harm.py tests/test_streaming.py``).
"""

from __future__ import annotations

import sys

from candidate import (
    DEFAULT_POSE2SIM_WORSE_PAIRS,
    DEFAULT_SIX_CELL_MPJPE,
    RESULTS,
    arguments,
    cells_summary,
    judged,
    pose2sim_summary,
    stress_condition,
    stress_judge,
    write,
)

#: the default's Pose2Sim px since the rule of 18:10 UTC (common probes)
DEFAULT_PX = 22.534


def verdict(p2s: dict, table: dict, stress: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    p, c = pose2sim_summary(p2s), cells_summary(table, "split-lcb")
    return {
        **stress_condition(stress, "split", (0, 1)),
        "pose2sim": p,
        "cells": c,
        "b": not c["harmed"]
        and c["cells"] == 6
        and c["mean_mpjpe"]["split-lcb"] <= DEFAULT_SIX_CELL_MPJPE + 0.3,
        "c": p["mean_px_offset_removed"]["split"] <= DEFAULT_PX + 0.05
        and len(p["worse_than_triangulation"]["split"]) <= DEFAULT_POSE2SIM_WORSE_PAIRS,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "split_gate", argv, {"--stress": RESULTS / "stress_seed2.json"})
    arms = {"default": "gate-lcb-ones", "split": "split-lcb-ones"}
    return write(args, judged(args, "split-lcb", arms, stress_judge(args.stress, verdict)))


if __name__ == "__main__":
    sys.exit(main())
