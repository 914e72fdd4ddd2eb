"""Holding the pose's position where the views disagree by a constant (issue 15): the pre-registered rule
of 2026-12-03 20:02 UTC (git log: "Pre-registered ... hold the pose's position where the views disagree
by a constant").

    for s in 6 7; do PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed $s \\
        --arms default,hold --json experiments/results/stress_seed${s}_hold.json; done
    PYTHONPATH=src .venv/bin/python experiments/view_bias.py [--json experiments/results/view_bias.json]

The candidate (``RefineOptions.view_bias="hold-position"``, :func:`binopose.guard.held_parts`) keeps
triangulation's per-frame position where the recording's residual has a constant part above 1 % of the
person's size. Judged on (a) the stress study's fresh draws 6 and 7, (b) the six ``do_no_harm`` cells
through the CLI (``--view-bias hold-position`` against the table's default column), (c) the Pose2Sim
held-out judge; (d) the tests with it as the default are run by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from candidate import RESULTS, ROOT, arguments, pose2sim, pose2sim_summary, write
from do_no_harm import METRICS, commands

SEEDS = (6, 7)


def cells() -> dict:
    """Each do-no-harm cell's default command with ``--view-bias hold-position``, against the table."""
    table = json.loads((RESULTS / "do_no_harm.json").read_text())["table"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cell, row in table.items():
            argv = [*commands(cell)["default"], "--view-bias", "hold-position"]
            js = Path(tmp) / "eval.json"
            cmd = [str(ROOT / ".venv" / "bin" / argv[0]), *argv[1:], "--json", str(js)]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            got = {k: round(v, 2) for k, v in json.loads(js.read_text()).items() if k in METRICS}
            out[cell] = {"command": " ".join(argv), "default": row["common-lcb"], "hold": got}
            print(cell, out[cell], flush=True)
    return out


def stress() -> dict:
    """Per arm, summed over the fresh draws: harmed cells, MPJPE excess, and cells harmed by the
    candidate alone."""
    runs = [json.loads((RESULTS / f"stress_seed{s}_hold.json").read_text()) for s in SEEDS]
    out = {
        a: {
            "harmed": sum(len(r["summary"][a]["harmed"]) for r in runs),
            "mpjpe_excess_mm": round(sum(r["summary"][a]["mpjpe_excess_mm"] for r in runs), 2),
        }
        for a in ("default", "hold")
    }
    out["harmed_by_hold_alone"] = [
        f"seed {r['seed']}: {c}"
        for r in runs
        for c in r["summary"]["hold"]["harmed"]
        if c not in r["summary"]["default"]["harmed"]
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "view_bias", argv)
    six = cells()
    p2s = pose2sim({"default": "common-lcb-ones", "hold": "hold-lcb-ones"})
    s, p = stress(), pose2sim_summary(p2s)
    verdict = {
        "stress_seeds_6_7": s,
        "cells": six,
        "pose2sim": p,
        "a": s["hold"]["harmed"] < s["default"]["harmed"]
        and s["hold"]["mpjpe_excess_mm"] < s["default"]["mpjpe_excess_mm"]
        and not s["harmed_by_hold_alone"],
        "b": all(r["hold"] == r["default"] for r in six.values()),
        "c": p["mean_px_offset_removed"]["hold"] <= p["mean_px_offset_removed"]["default"] + 0.05
        and p["mean_heldout_mm"]["hold"] <= p["mean_heldout_mm"]["default"] + 0.2
        and len(p["worse_than_triangulation"]["hold"]) <= 2,
    }
    return write(args, {"command": " ".join(sys.argv), "pose2sim": p2s, "verdict": verdict})


if __name__ == "__main__":
    sys.exit(main())
