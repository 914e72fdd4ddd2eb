"""What every pre-registered refiner candidate of issue 15 is judged on, against the default (used by
``keep_torso.py`` and ``joint_gate.py``): the Pose2Sim capture with each pair judged by its two held-out
cameras (``pose2sim_heldout.score_all``), and a column of the six ``do_no_harm`` cells."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from do_no_harm import METRICS, commands
from pose2sim_data import DEFAULT_DATA, load_capture
from pose2sim_heldout import make_refiner, score_all

from binopose.io_utils import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
KEY = "heldout_reproj_px_offset_removed"
#: the default's numbers that the rules of 17:38 and 17:43 UTC name
DEFAULT_SIX_CELL_MPJPE = 39.07
DEFAULT_POSE2SIM_PX = 22.54
DEFAULT_POSE2SIM_WORSE_PAIRS = 2


def pose2sim(arms: dict[str, str]) -> dict:
    """Per pair, per arm (name -> ``pose2sim_heldout.VARIANTS`` key) and triangulation: the held-out scores."""
    return score_all(load_capture(DEFAULT_DATA), {a: make_refiner(None, "raw", v) for a, v in arms.items()})


def pose2sim_summary(p2s: dict) -> dict:
    """Means over the pairs (offset-removed px, mm against the held-out cameras' triangulation) and the
    pairs where each arm is worse than triangulation in px."""
    arms = list(next(iter(p2s.values())))
    return {
        "mean_px_offset_removed": {
            a: round(float(np.mean([r[a][KEY] for r in p2s.values()])), 3) for a in arms
        },
        "mean_heldout_mm": {
            a: round(float(np.mean([r[a]["vs_heldout_triangulation_mm"] for r in p2s.values()])), 2)
            for a in arms
        },
        "worse_than_triangulation": {
            a: [p for p, r in p2s.items() if r[a][KEY] > r["triangulation"][KEY]]
            for a in arms
            if a != "triangulation"
        },
    }


def cells_summary(table: dict, column: str) -> dict:
    """A ``do_no_harm`` column: its harmed cells (a metric worse than triangulation), its six-cell mean
    MPJPE and the default's, and each cell's MPJPE minus the default's."""
    harmed = [
        f"{c}:{m}" for c, row in table.items() for m in METRICS if row[column][m] > row["triangulate"][m]
    ]
    mean = {
        v: round(float(np.mean([row[v]["mpjpe_mm"] for row in table.values()])), 2)
        for v in ("gate-lcb", column)
    }
    diff = {c: round(row[column]["mpjpe_mm"] - row["gate-lcb"]["mpjpe_mm"], 2) for c, row in table.items()}
    return {"harmed": harmed, "cells": len(table), "mean_mpjpe": mean, "mpjpe_minus_default": diff}


def load_inputs(
    json_path: Path, cells_path: Path, column: str, arms: dict[str, str], reuse: bool
) -> tuple[dict, dict | None]:
    """The Pose2Sim scores (computed, or reused from ``json_path``) and the ``do_no_harm`` table (None
    when it has no ``column`` yet: run ``experiments/do_no_harm.py`` first)."""
    p2s = json.loads(json_path.read_text())["pose2sim"] if reuse else pose2sim(arms)
    for pair, r in p2s.items():
        print(pair, {v: round(s[KEY], 2) for v, s in r.items()}, flush=True)
    table = json.loads(cells_path.read_text())["table"]
    if not all(column in row for row in table.values()):
        print(
            f"{cells_path} has no {column} column yet: run experiments/do_no_harm.py, then --reuse-pose2sim"
        )
        return p2s, None
    return p2s, table


def arguments(
    doc: str, name: str, argv: list[str] | None, extra: dict[str, Path] | None = None
) -> argparse.Namespace:
    """A candidate script's options: --json (its results), --cells (``do_no_harm.json``),
    --reuse-pose2sim, and ``extra`` (flag -> default path)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--json", type=Path, default=RESULTS / f"{name}.json")
    ap.add_argument("--cells", type=Path, default=RESULTS / "do_no_harm.json")
    for flag, default in (extra or {}).items():
        ap.add_argument(flag, type=Path, default=default)
    ap.add_argument("--reuse-pose2sim", action="store_true", help="take the Pose2Sim scores from --json")
    return ap.parse_args(argv)


def judged(
    args: argparse.Namespace, column: str, arms: dict[str, str], verdict: Callable[[dict, dict], dict]
) -> dict:
    """The result: the command, the Pose2Sim scores of ``arms`` and the rule's verdict (None until the
    ``do_no_harm`` table has ``column``)."""
    p2s, table = load_inputs(args.json, args.cells, column, arms, args.reuse_pose2sim)
    return {
        "command": " ".join(sys.argv),
        "pose2sim": p2s,
        "verdict": None if table is None else verdict(p2s, table),
    }


def write(args: argparse.Namespace, result: dict) -> int:
    """Print the verdict and write the result to --json (atomically)."""
    print(json.dumps(result["verdict"], indent=1))
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


def stress_condition(stress: dict, arm: str, seen: tuple[int, ...]) -> dict:
    """A rule's stress condition: on a draw not in ``seen``, fewer harmed cells than the default and a
    smaller MPJPE excess (``stress.py``'s summary of arms "default" and ``arm``), with the summary."""
    s = stress["summary"]
    return {
        "stress_seed": stress["seed"],
        "stress": {
            a: {"harmed": len(v["harmed"]), "mpjpe_excess_mm": v["mpjpe_excess_mm"]} for a, v in s.items()
        },
        "a": stress["seed"] not in seen
        and len(s[arm]["harmed"]) < len(s["default"]["harmed"])
        and s[arm]["mpjpe_excess_mm"] < s["default"]["mpjpe_excess_mm"],
    }


def stress_judge(
    path: Path, verdict: Callable[[dict, dict, dict], dict]
) -> Callable[[dict, dict], dict | None]:
    """``verdict`` with the stress run at ``path`` (None until it exists)."""
    stress = json.loads(path.read_text()) if path.exists() else None
    return lambda p2s, table: None if stress is None else verdict(p2s, table, stress)


def gate_rule(
    p2s: dict,
    table: dict,
    stress: dict,
    column: str,
    arm: str,
    seen: tuple[int, ...],
    margin: float,
    px: float,
) -> dict:
    """The conditions (a)-(c) of the rules of 18:10 and 18:23 UTC: (a) :func:`stress_condition`; (b) no
    harmed cell and a six-cell mean at most ``margin`` mm above the default's; (c) Pose2Sim px at most
    ``px`` + 0.05 and no more pairs worse than triangulation than the default's."""
    p, c = pose2sim_summary(p2s), cells_summary(table, column)
    return {
        **stress_condition(stress, arm, seen),
        "pose2sim": p,
        "cells": c,
        "b": not c["harmed"]
        and c["cells"] == 6
        and c["mean_mpjpe"][column] <= DEFAULT_SIX_CELL_MPJPE + margin,
        "c": p["mean_px_offset_removed"][arm] <= px + 0.05
        and len(p["worse_than_triangulation"][arm]) <= DEFAULT_POSE2SIM_WORSE_PAIRS,
    }


def cli_cells(extra: list[str]) -> dict:
    """The six ``do_no_harm`` cells, each through its default ``binopose eval`` command with ``extra``
    arguments (a candidate's ``--model`` or option): {cell: {"command", "row" (the table's row), "got"}}."""
    table = json.loads((RESULTS / "do_no_harm.json").read_text())["table"]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cell, row in table.items():
            argv = [*commands(cell)["default"], *extra]
            js = Path(tmp) / "eval.json"
            cmd = [str(ROOT / ".venv" / "bin" / argv[0]), *argv[1:], "--json", str(js)]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            got = {k: round(v, 2) for k, v in json.loads(js.read_text()).items() if k in METRICS}
            out[cell] = {"command": " ".join(argv), "row": row, "got": got}
            print(cell, got, flush=True)
    return out
