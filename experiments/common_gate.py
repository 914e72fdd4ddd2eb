"""The gate's probes with a per-frame common part (issue 15): the pre-registered rule of 2026-12-03 18:10
UTC (git log: "Pre-registered ... the gate's probes with a per-frame common part").

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed 1 --arms default,common \\
        --json experiments/results/stress_seed1.json --png docs/img/stress_seed1.png
    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, every column
    PYTHONPATH=src .venv/bin/python experiments/common_gate.py [--json experiments/results/common_gate.json]

The candidate (``gate_noise="common"``, :meth:`binopose.guard.ResidualSums.noise`) draws the gate's
probes from a noise model with a per-frame part that every joint of a view shares, estimated from the
triangulation residual's common mode. Judged on (a) the stress study's fresh draw (seed 1), (b) the six
``do_no_harm`` cells (column ``common-lcb``), (c) the Pose2Sim held-out judge, (d) the tests with it as
the default (run by hand: ``RefineOptions.gate_noise`` set to "common", then ``pytest
tests/test_do_no_harm.py tests/test_streaming.py``).
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


def verdict(p2s: dict, table: dict, stress: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    p, c = pose2sim_summary(p2s), cells_summary(table, "common-lcb")
    s = stress["summary"]
    return {
        "stress_seed": stress["seed"],
        "stress": {
            arm: {"harmed": len(v["harmed"]), "mpjpe_excess_mm": v["mpjpe_excess_mm"]} for arm, v in s.items()
        },
        "pose2sim": p,
        "cells": c,
        "a": stress["seed"] != 0
        and len(s["common"]["harmed"]) < len(s["default"]["harmed"])
        and s["common"]["mpjpe_excess_mm"] < s["default"]["mpjpe_excess_mm"],
        "b": not c["harmed"]
        and c["cells"] == 6
        and c["mean_mpjpe"]["common-lcb"] <= DEFAULT_SIX_CELL_MPJPE + 0.5,
        "c": p["mean_px_offset_removed"]["common"] <= DEFAULT_POSE2SIM_PX + 0.05
        and len(p["worse_than_triangulation"]["common"]) <= DEFAULT_POSE2SIM_WORSE_PAIRS,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=RESULTS / "common_gate.json")
    ap.add_argument("--cells", type=Path, default=RESULTS / "do_no_harm.json")
    ap.add_argument("--stress", type=Path, default=RESULTS / "stress_seed1.json")
    ap.add_argument("--reuse-pose2sim", action="store_true", help="take the Pose2Sim scores from --json")
    args = ap.parse_args(argv)
    arms = {"default": "gate-lcb-ones", "common": "common-lcb-ones"}
    p2s, table = load_inputs(args.json, args.cells, "common-lcb", arms, args.reuse_pose2sim)
    stress = json.loads(args.stress.read_text()) if args.stress.exists() else None
    ready = table is not None and stress is not None
    result = {
        "command": " ".join(sys.argv),
        "pose2sim": p2s,
        "verdict": verdict(p2s, table, stress) if ready else None,
    }
    print(json.dumps(result["verdict"], indent=1))
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
