"""Candidate model v8 (issue 15): the v5 recipe with MediaPipe's error family in training, judged by the
pre-registered rule of 2026-12-03 19:17 UTC (git log: "Pre-registered ... v8 = v5 with the MediaPipe error
family in training").

    binopose train --config configs/v8.yaml                                   # 30 min on the 2-core CPU
    PYTHONPATH=src .venv/bin/python experiments/stress.py --seed 5 --json experiments/results/stress_seed5_v5.json
    PYTHONPATH=src .venv/bin/python experiments/stress.py --seed 5 --model runs/v8/model \\
        --json experiments/results/stress_seed5_v8.json
    PYTHONPATH=src .venv/bin/python experiments/v8.py [--model runs/v8/model]

Every arm runs with the CLI defaults (definitions kept, gate lcb, common probes, confidences ones):
(a) the six ``do_no_harm`` cells, each through ``binopose eval ... --model`` (RESULTS.md's commands);
(b) the Pose2Sim capture judged by each pair's held-out cameras; (c) the stress study's fresh draw
(seed 5) for both models; (d) the test suite with v8 shipped is run by hand. Also recorded, not judged:
each model's network alone with the definitions kept (no gate) on Pose2Sim.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from candidate import DEFAULT_SIX_CELL_MPJPE, RESULTS, cli_cells, pose2sim_summary, write
from do_no_harm import METRICS
from pose2sim_data import DEFAULT_DATA, load_capture
from pose2sim_heldout import make_refiner, score_all

#: the v5 default's Pose2Sim means that the rule names (experiments/results/common_gate.json)
V5_PX, V5_MM = 22.534, 88.77


def cells(model: str) -> dict:
    """The six cells: triangulation and v5's default from ``do_no_harm.json``, the candidate's default
    through the CLI."""
    return {
        cell: {
            "command": r["command"],
            "triangulate": r["row"]["triangulate"],
            "v5": r["row"]["common-lcb"],
            "v8": r["got"],
        }
        for cell, r in cli_cells(["--model", model]).items()
    }


def verdict(six: dict, p2s: dict, stress: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    harmed = [f"{c}:{m}" for c, r in six.items() for m in METRICS if r["v8"][m] > r["triangulate"][m]]
    mean = {a: round(sum(r[a]["mpjpe_mm"] for r in six.values()) / len(six), 2) for a in ("v5", "v8")}
    p = pose2sim_summary(p2s)
    worse_mm = {
        a: [
            k
            for k, r in p2s.items()
            if r[a]["vs_heldout_triangulation_mm"] > r["triangulation"]["vs_heldout_triangulation_mm"]
        ]
        for a in ("v5", "v8")
    }
    s = {a: stress[a]["summary"]["default"] for a in ("v5", "v8")}
    s_short = {
        a: {"harmed": sorted(v["harmed"]), "mpjpe_excess_mm": v["mpjpe_excess_mm"]} for a, v in s.items()
    }
    return {
        "cells": {"harmed": harmed, "mean_mpjpe": mean},
        "pose2sim": {**p, "worse_than_triangulation_mm": worse_mm},
        "stress_seed5": s_short,
        "a": not harmed and len(six) == 6 and mean["v8"] <= DEFAULT_SIX_CELL_MPJPE + 0.30,
        "b": p["mean_px_offset_removed"]["v8"] < V5_PX
        and p["mean_heldout_mm"]["v8"] < V5_MM
        and len(p["worse_than_triangulation"]["v8"]) <= 2
        and len(worse_mm["v8"]) <= 2,
        "c": len(s["v8"]["harmed"]) <= len(s["v5"]["harmed"])
        and s["v8"]["mpjpe_excess_mm"] <= s["v5"]["mpjpe_excess_mm"] + 1.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/v8/model")
    ap.add_argument("--json", type=Path, default=RESULTS / "v8.json")
    args = ap.parse_args(argv)
    six = cells(args.model)
    arms = {
        "v5": make_refiner(None, "raw", "common-lcb-ones"),
        "v8": make_refiner(args.model, "raw", "common-lcb-ones"),
        "v5 network, definitions kept, no gate": make_refiner(None, "raw", "keep-ones"),
        "v8 network, definitions kept, no gate": make_refiner(args.model, "raw", "keep-ones"),
    }
    p2s = score_all(load_capture(DEFAULT_DATA), arms)
    stress = {a: json.loads((RESULTS / f"stress_seed5_{a}.json").read_text()) for a in ("v5", "v8")}
    result = {
        "command": " ".join(sys.argv),
        "model": args.model,
        "cells": six,
        "pose2sim": p2s,
        "verdict": verdict(six, p2s, stress),
    }
    return write(args, result)


if __name__ == "__main__":
    sys.exit(main())
