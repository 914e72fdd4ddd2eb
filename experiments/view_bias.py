"""Holding the pose's position where the views disagree by a constant (issue 15): the pre-registered rules
of 2026-12-03 20:02 UTC ("hold the pose's position where the views disagree by a constant") and 20:15
UTC ("hold the position only where the constant shows in every frame").

    for s in 6 7; do PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed $s \\
        --arms default,hold --json experiments/results/stress_seed${s}_hold.json; done      # rule 20:02
    for s in 8 9; do PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed $s \\
        --arms ignore,default,strict --json experiments/results/stress_seed${s}_strict.json; done  # 20:15
    PYTHONPATH=src .venv/bin/python experiments/view_bias.py --rule 20:02   # -> results/view_bias.json
    PYTHONPATH=src .venv/bin/python experiments/view_bias.py --rule 20:15   # -> results/view_bias_strict.json
    for s in 10 11; do PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed $s \
        --arms ignore,default --json experiments/results/stress_seed${s}_replicate.json; done   # 20:20
    PYTHONPATH=src .venv/bin/python experiments/view_bias.py --rule 20:20   # -> results/view_bias_replicate.json

(Seeds 6-7 ran with "default" = ignore, seeds 8-11 with "default" = hold-position, the default from
f4f1d26 until the rule of 20:20 UTC sent it back.)

The candidates (``RefineOptions.view_bias``, :func:`binopose.guard.held_parts`) keep triangulation's
per-frame position where the recording's residual has a constant part above 1 % of the person's size
("hold-position"), and where that part also exceeds 3 standard deviations of a frame's common-mode
residual ("hold-strict"). Judged on the stress study's fresh draws, the six ``do_no_harm`` cells
through the CLI (against the table's default column) and the Pose2Sim held-out judge; the tests with
the candidate as the default are run by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from candidate import RESULTS, cli_cells, pose2sim, pose2sim_summary, write


def cells(view_bias: str) -> dict:
    """Each do-no-harm cell's default command with ``--view-bias``, against the table."""
    return {
        cell: {"command": r["command"], "table": r["row"]["common-lcb"], "candidate": r["got"]}
        for cell, r in cli_cells(["--view-bias", view_bias]).items()
    }


def given_up(run: dict, arm: str, base: str) -> float:
    """The MPJPE (mm) ``arm`` gives up against ``base`` in one stress run: its increases summed over cells."""
    return sum(max(0.0, r[arm]["mpjpe_mm"] - r[base]["mpjpe_mm"]) for r in run["cells"].values())


def stress(files: list[str], arms: tuple[str, ...], base: str) -> dict:
    """Per arm, summed over the draws: harmed cells, MPJPE excess over triangulation, the MPJPE it gives up
    against ``base`` (summed increases over cells) and the cells it alone harms (``base`` does not)."""
    runs = [json.loads((RESULTS / f).read_text()) for f in files]
    out: dict = {}
    for a in arms:
        out[a] = {
            "harmed": sum(len(r["summary"][a]["harmed"]) for r in runs),
            "mpjpe_excess_mm": round(sum(r["summary"][a]["mpjpe_excess_mm"] for r in runs), 2),
        }
        if a == base:
            continue
        rows = [(r["seed"], c, row) for r in runs for c, row in r["cells"].items()]
        out[a]["given_up_mm"] = round(sum(given_up(r, a, base) for r in runs), 2)
        out[a]["harmed_alone"] = [
            f"seed {s}: {c}" for s, c, row in rows if row[f"{a}_harmed"] and not row[f"{base}_harmed"]
        ]
    return out


def verdict(rule: str, six: dict, p: dict, s: dict) -> dict:
    """The rule's conditions (the tests are run by hand)."""
    unchanged = all(r["candidate"] == r["table"] for r in six.values())
    cand, base = ("hold", "default") if rule == "20:02" else ("strict", "ignore")
    pose2sim_ok = (
        p["mean_px_offset_removed"][cand] <= p["mean_px_offset_removed"][base] + 0.05
        and p["mean_heldout_mm"][cand] <= p["mean_heldout_mm"][base] + 0.2
        and len(p["worse_than_triangulation"][cand]) <= 2
    )
    fewer = (
        s[cand]["harmed"] < s[base]["harmed"]
        and s[cand]["mpjpe_excess_mm"] < s[base]["mpjpe_excess_mm"]
        and not s[cand]["harmed_alone"]
    )
    if rule == "20:02":
        return {"a": fewer, "b": unchanged, "c": pose2sim_ok}
    return {
        "a": fewer,
        "b": s["strict"]["given_up_mm"] <= 0.5 * s["default"]["given_up_mm"],
        "c": unchanged,
        "d": pose2sim_ok,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rule", choices=("20:02", "20:15", "20:20"), default="20:20")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.rule == "20:20":  # the 20:02 rule's (a) again, on two more draws: stress alone
        args.json = args.json or RESULTS / "view_bias_replicate.json"
        files = ["stress_seed10_replicate.json", "stress_seed11_replicate.json"]
        s = stress(files, ("ignore", "default"), "ignore")
        a = (
            s["default"]["harmed"] < s["ignore"]["harmed"]
            and s["default"]["mpjpe_excess_mm"] < s["ignore"]["mpjpe_excess_mm"]
            and not s["default"]["harmed_alone"]
        )
        return write(
            args, {"command": " ".join(sys.argv), "verdict": {"stress": s, "hold_position_stays": a}}
        )
    if args.rule == "20:02":
        args.json = args.json or RESULTS / "view_bias.json"
        six = cells("hold-position")
        p2s = pose2sim({"default": "common-lcb-ones", "hold": "hold-lcb-ones"})
        s = stress(["stress_seed6_hold.json", "stress_seed7_hold.json"], ("default", "hold"), "default")
    else:
        args.json = args.json or RESULTS / "view_bias_strict.json"
        six = cells("hold-strict")
        p2s = pose2sim({"ignore": "common-lcb-ones", "default": "hold-lcb-ones", "strict": "strict-lcb-ones"})
        arms = ("ignore", "default", "strict")
        s = stress(["stress_seed8_strict.json", "stress_seed9_strict.json"], arms, "ignore")
    p = pose2sim_summary(p2s)
    result = {"stress": s, "cells": six, "pose2sim": p, **verdict(args.rule, six, p, s)}
    return write(args, {"command": " ".join(sys.argv), "pose2sim": p2s, "verdict": result})


if __name__ == "__main__":
    sys.exit(main())
