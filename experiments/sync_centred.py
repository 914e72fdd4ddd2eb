"""Synchronisation with a rig: the epipolar cost taken about each joint's median (issue 18), the
pre-registered rule of 2026-12-03 15:52 UTC (git log: "Pre-registered ... an epipolar cost that a
calibration error does not move").

    PYTHONPATH=src .venv/bin/python experiments/sync_centred.py [--json experiments/results/sync_centred.json]

The rig cases of ``selfcal_eval.sync_eval`` (Pose2Sim: 6 pairs x offsets -30..+30; Human3.6M: 8
sequences x -30..+30), with the cost of the time (median symmetric epipolar distance, no refit) and the candidate
(signed distances minus each joint's median, then the median of their absolute values).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from selfcal_eval import DATA, pose2sim_views, shifted, summarise

from binopose.geometry.rig import Camera, StereoRig
from binopose.io_utils import atomic_write_json
from binopose.selfcal.sync import find_offset

ROOT = Path(__file__).resolve().parents[1]


def cases(name: str, kl: np.ndarray, kr: np.ndarray, rig: StereoRig, **variant: bool) -> list[dict]:
    """Offsets -30..+30 applied to one pair, found with ``find_offset(..., **variant)``."""
    rows = []
    for n in range(-30, 31):
        res = find_offset(*shifted(kl, kr, n), 30, rig, **variant)
        rows.append({"case": name, "true": n, "found": res.offset, "confidence": res.confidence})
    return rows


def h36m_rigs(count: int = 8) -> list[tuple[str, np.ndarray, StereoRig]]:
    d = np.load(DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz")
    key = np.char.add(np.char.add(d["subject"].astype(str), "/"), d["sequence"].astype(str))
    seqs = list(dict.fromkeys(key.tolist()))
    out = []
    for q in [seqs[i] for i in np.linspace(0, len(seqs) - 1, count).astype(int)]:
        m = key == q
        i0 = int(np.flatnonzero(m)[0])
        K = d["K"][i0].astype(np.float64)
        rig = StereoRig(Camera("l", (1000, 1002), K[0]),
                        Camera("r", (1000, 1000), K[1], R=d["R_right_from_left"][i0], t=d["t_right_from_left_mm"][i0]))  # fmt: skip
        out.append((q, d["kp2d_pred"][m].astype(np.float64), rig))
    return out


def run() -> dict:
    cams, views, _ = pose2sim_views()
    result = {}
    for centred in (False, True):
        label = "centred" if centred else "today"
        p2s, h36 = [], []
        for a, b in itertools.combinations(range(4), 2):
            name = f"{cams[a].name}-{cams[b].name}"
            p2s += cases(name, views[a], views[b], StereoRig(cams[a], cams[b]), centred=centred, refit=False)
        for q, kp, rig in h36m_rigs():
            h36 += cases(q, kp[:, 0], kp[:, 1], rig, centred=centred, refit=False)
        result[label] = {"pose2sim_rig": summarise(p2s), "h36m_rig": summarise(h36)}
        print(label, json.dumps({k: {m: v[m] for m in ("exact", "exact_pct", "within_1_pct", "exact_pct_per_case")}
                                 for k, v in result[label].items()}), flush=True)  # fmt: skip
    new = result["centred"]
    result["verdict"] = {
        "a": new["pose2sim_rig"]["exact_pct"] >= 52.6 and new["pose2sim_rig"]["within_1_pct"] >= 67.2,
        "b": new["h36m_rig"]["exact"] == new["h36m_rig"]["cases"] == 488,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=ROOT / "experiments" / "results" / "sync_centred.json")
    args = ap.parse_args(argv)
    result = {"command": " ".join(sys.argv), **run()}
    print(json.dumps(result["verdict"]))
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
