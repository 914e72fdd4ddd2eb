"""Every camera pair of the Pose2Sim capture judged by the two cameras it did not use.

    PYTHONPATH=src .venv/bin/python experiments/pose2sim_heldout.py [--model PATH] [--conf raw binary none]
        [--data DIR] [--json PATH]

For each of the six pairs (a, b): the pair's 3D from (1) confidence-weighted triangulation of the
undistorted MediaPipe 2D (as ``binopose run`` triangulates) and (2) the refiner, fed the same 2D
with confidences as ``--conf`` says (raw: as detected; binary: 1 where conf >= 0.5, else the
keypoint is missing (NaN, confidence 0); none: no confidences). Each is scored by the two held-out
cameras c, d: (i) reprojected into c and d against their detections (px, joints with confidence
> 0.5 there), (ii) against the triangulation of c and d (mm); and, for comparison only, against the
4-view reference (which contains the pair's own 2D errors). The refiner is a parameter
(:func:`score_all`), so any new refiner or option can be scored the same way.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from loo import leave_one_out
from pose2sim_data import (
    DEFAULT_DATA,
    RESULTS,
    Capture,
    distort_views,
    load_capture,
    project_views,
    triangulate_views,
    undistort_views,
    world_P,
)
from tqdm import tqdm

from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.io_utils import atomic_write_json
from binopose.metrics import pose_metrics

#: (uv (F, 2, J, 2) undistorted pixels, rig, conf (F, 2, J)) -> (F, J, 3) mm in the left camera's frame
RefineFn = Callable[[np.ndarray, StereoRig, np.ndarray], np.ndarray]
CONF_MODES = ("raw", "binary", "none")
#: refiner options compared (binopose.refine_options.RefineOptions fields); a variant that names no
#: view_bias has "ignore", as every variant had before the rule of 20:02 UTC
VARIANTS = {
    "v5": dict(definitions="model", gate="off", conf_evidence="raw"),
    "v5-binary": dict(definitions="model", gate="off", conf_evidence="binary"),
    "v5-ones": dict(definitions="model", gate="off", conf_evidence="ones"),
    "keep": dict(definitions="keep", gate="off", conf_evidence="raw"),
    "keep-ones": dict(definitions="keep", gate="off", conf_evidence="ones"),
    "gate": dict(definitions="keep", gate="mean", conf_evidence="raw"),
    "gate-lcb": dict(definitions="keep", gate="lcb", conf_evidence="raw"),
    "gate-lcb-ones": dict(definitions="keep", gate="lcb", conf_evidence="ones"),
    "gate-ones": dict(definitions="keep", gate="mean", conf_evidence="ones"),
    "torso-lcb-ones": dict(definitions="keep-torso", gate="lcb", conf_evidence="ones"),
    "joints-lcb-ones": dict(definitions="keep", gate="lcb-joints", conf_evidence="ones"),
    "common-lcb-ones": dict(definitions="keep", gate="lcb", gate_noise="common", conf_evidence="ones"),
    "split-lcb-ones": dict(definitions="keep", gate="lcb-split", conf_evidence="ones"),
    "hold-lcb-ones": dict(
        definitions="keep", gate="lcb", gate_noise="common", conf_evidence="ones", view_bias="hold-position"
    ),
    "strict-lcb-ones": dict(
        definitions="keep", gate="lcb", gate_noise="common", conf_evidence="ones", view_bias="hold-strict"
    ),
    "gate-lcb-ones-independent": dict(
        definitions="keep", gate="lcb", gate_noise="independent", conf_evidence="ones"
    ),
}


def make_refiner(model: str | None, conf_mode: str, variant: str = "gate") -> RefineFn:
    """The refiner (``Refiner.load(model)``; None = the shipped model) with the options of ``variant``,
    fed confidences as ``conf_mode`` says."""
    import torch

    from binopose.refiner import Refiner

    if conf_mode not in CONF_MODES:
        raise BinoposeError(f"unknown --conf {conf_mode!r} (expected one of {', '.join(CONF_MODES)})")
    if variant not in VARIANTS:
        raise BinoposeError(f"unknown --variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    refiner = Refiner.load(model, **{"view_bias": "ignore", **VARIANTS[variant]})

    def refine(uv: np.ndarray, rig: StereoRig, conf: np.ndarray) -> np.ndarray:
        u, c = torch.tensor(uv, dtype=torch.float32), torch.tensor(conf, dtype=torch.float32)
        if conf_mode == "binary":
            keep = c >= 0.5
            u, c = torch.where(keep[..., None], u, float("nan")), keep.float()
        return refiner.refine(u, rig, None if conf_mode == "none" else c).poses.numpy()

    return refine


def to_world(X_cam: np.ndarray, cam) -> np.ndarray:
    """(F, J, 3) mm in the camera's frame -> world mm."""
    return (X_cam - cam.t) @ cam.R


def camera_offsets(cap: Capture, uv: np.ndarray) -> np.ndarray:
    """(C, 2) each camera's constant 2D offset (px): the mean over frames and joints of its detections
    minus their reprojection from the three other cameras (calibration error, mostly; see
    experiments/mediapipe_errors.py). Independent of any method scored here."""
    reproj, _ = leave_one_out(uv, cap.conf, world_P(cap.cams))
    return np.nanmean(cap.kp - distort_views(reproj, cap.cams), axis=(1, 2))


def judge(X: np.ndarray, cap: Capture, held: list[int], uv: np.ndarray, offsets: np.ndarray) -> dict:
    """Scores of world points X (F, J, 3) by the held-out cameras ``held`` (and the 4-view reference)."""
    cams = [cap.cams[k] for k in held]
    d = cap.kp[held] - project_views(X, cams)  # (2, F, J, 2)
    err = np.linalg.norm(d, axis=-1)
    err_off = np.linalg.norm(d - offsets[held][:, None, None], axis=-1)
    seen = (cap.conf[held] > 0.5) & np.isfinite(err)
    X_held = triangulate_views(uv[held], cap.conf[held], cams)
    m_held, m_ref = pose_metrics(X, X_held), pose_metrics(X, cap.ref_world)
    return {
        "heldout_reproj_px": float(err[seen].mean()),
        "heldout_reproj_px_per_camera": [float(err[i][seen[i]].mean()) for i in range(2)],
        "heldout_reproj_px_offset_removed": float(err_off[seen].mean()),
        "vs_heldout_triangulation_mm": m_held["mpjpe_mm"],
        "vs_heldout_triangulation_pa_mm": m_held["pa_mpjpe_mm"],
        "vs_4view_mm": m_ref["mpjpe_mm"],
        "vs_4view_pa_mm": m_ref["pa_mpjpe_mm"],
        "nan_joints": m_ref["nan_joints"],
    }


def score_all(cap: Capture, refiners: dict[str, RefineFn]) -> dict:
    """{pair: {method: scores}} for triangulation and every named refiner."""
    uv = undistort_views(cap.kp, cap.cams)
    offsets = camera_offsets(cap, uv)
    out = {}
    pairs = list(itertools.combinations(range(len(cap.cams)), 2))
    for a, b in tqdm(pairs, desc="pairs", disable=None):
        held = [k for k in range(len(cap.cams)) if k not in (a, b)]
        res = {
            "triangulation": judge(
                triangulate_views(uv[[a, b]], cap.conf[[a, b]], [cap.cams[a], cap.cams[b]]),
                cap,
                held,
                uv,
                offsets,
            )
        }
        rig = StereoRig(cap.cams[a], cap.cams[b])
        pair_uv, pair_conf = uv[[a, b]].transpose(1, 0, 2, 3), cap.conf[[a, b]].transpose(1, 0, 2)
        for name, fn in refiners.items():
            res[name] = judge(to_world(fn(pair_uv, rig, pair_conf), cap.cams[a]), cap, held, uv, offsets)
        out[f"{cap.names[a]}-{cap.names[b]}"] = res
    return out


METRICS = (
    ("heldout_reproj_px", "held-out reproj px"),
    ("heldout_reproj_px_offset_removed", "same, camera offset removed"),
    ("vs_heldout_triangulation_mm", "vs held-out tri mm"),
    ("vs_4view_mm", "vs 4-view mm"),
)


def table(results: dict) -> str:
    """Markdown table: pair x method, the three metrics; the mean over pairs last."""
    methods = list(next(iter(results.values())))
    lines = [
        "| pair | method | " + " | ".join(t for _, t in METRICS) + " |",
        "|---|---|" + "---:|" * len(METRICS),
    ]
    rows = {
        **results,
        "mean of 6 pairs": {
            m: {k: float(np.mean([r[m][k] for r in results.values()])) for k, _ in METRICS} for m in methods
        },
    }
    for pair, res in rows.items():
        for m in methods:
            lines.append(f"| {pair} | {m} | " + " | ".join(f"{res[m][k]:.1f}" for k, _ in METRICS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", help="refiner model (default: the shipped one)")
    ap.add_argument(
        "--conf",
        nargs="+",
        choices=CONF_MODES,
        default=["raw"],
        help="how confidences reach the refiner (one or more)",
    )
    ap.add_argument(
        "--variant",
        nargs="+",
        choices=tuple(VARIANTS),
        default=["gate"],
        help="refiner options (one or more)",
    )
    ap.add_argument("--json", type=Path, default=RESULTS / "pose2sim_heldout.json")
    args = ap.parse_args(argv)
    try:
        cap = load_capture(args.data)
        refiners = {
            f"refiner {v} (conf {c})": make_refiner(args.model, c, v) for v in args.variant for c in args.conf
        }
    except BinoposeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = score_all(cap, refiners)
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        args.json,
        {
            "command": " ".join(sys.argv),
            "model": args.model or "shipped default",
            "conf": args.conf,
            "variants": {v: VARIANTS[v] for v in args.variant},
            "pairs": results,
        },
    )
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
