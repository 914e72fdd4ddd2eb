"""How far the TRC's "up" is from the lab's vertical on the demo clip, per export frame and rule.

    binopose demo --out /tmp/demo_out --quiet
    python bench/gravity_frame.py /tmp/demo_out/poses_3d.npz

The demo rig keeps the Pose2Sim demo's lab frame (Qualisys calibration, z up), so the lab's vertical in
the left camera's frame is ``R_left @ [0, 0, 1]``. Prints the angle of each candidate "up" to it (table
and JSON with the command and machine), for binopose's poses and for the clip's 4-view reference.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

from binopose.cli.demo import demo_assets
from binopose.geometry.rig import load_rig
from binopose.geometry.transforms import body_up, export_frame
from binopose.io import load_poses
from binopose.skeleton import JOINT_NAMES


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def candidates(p: np.ndarray) -> dict[str, np.ndarray]:
    ankles = p[:, [JOINT_NAMES.index("right_ankle"), JOINT_NAMES.index("left_ankle")]]
    pts = ankles.reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(-1)]
    normal = np.linalg.svd(pts - pts.mean(0), full_matrices=False)[2][2]
    head = p[:, JOINT_NAMES.index("head")] - ankles.mean(1)
    head = head[np.isfinite(head).all(-1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gravity = export_frame(p, "gravity")[0][1]
    return {
        "upright (camera y, turned)": export_frame(p, "upright")[0][1],
        "plane fitted to all ankles": normal * np.sign(np.dot(normal, body_up(p))),
        "mean ankles-to-head": (head / np.linalg.norm(head, axis=-1, keepdims=True)).mean(0),
        "mean ankles-to-pelvis (legs)": body_up(p),
        "--frame gravity (binopose's rule)": gravity,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("poses", type=Path, help="poses_3d.npz written by binopose demo")
    args = ap.parse_args()
    assets = demo_assets()
    vertical = load_rig(assets["rig"]).left.R @ np.array([0.0, 0.0, 1.0])
    ref = np.load(assets["reference"])["kp3d_ref_4view_left_mm"]
    rows = {
        "binopose poses": candidates(load_poses(args.poses).poses),
        "4-view reference": candidates(ref),
    }
    table = {src: {k: round(_angle(v, vertical), 1) for k, v in c.items()} for src, c in rows.items()}
    print(f"{'up estimate':36} " + " ".join(f"{s:>17}" for s in table))
    for k in next(iter(table.values())):
        print(f"{k:36} " + " ".join(f"{table[s][k]:>16.1f}°" for s in table))
    doc = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.node()}, Python {platform.python_version()}",
        "degrees_from_lab_vertical": table,
    }
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
