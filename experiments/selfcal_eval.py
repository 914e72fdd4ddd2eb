"""Measure calibration from the person and automatic synchronisation (docs/SELFCAL.md).

    PYTHONPATH=src python experiments/selfcal_eval.py --out experiments/results/selfcal

1. Human3.6M Stacked-Hourglass file: per subject, calibrate from ``kp2d_pred`` alone (the file's K),
   compare with the true cameras (rotation, baseline direction, scale with three scale sources) and
   triangulate all frames with both rigs (MPJPE against ``kp3d_gt``, left camera frame).
2. Pose2Sim demo: the raw MediaPipe landmarks of ``reference_4view.npz`` (no left/right fix), mapped
   to the 17 joints, undistorted; each of the six camera pairs against ``calibration_opencv.toml``.
3. Synchronisation: offsets -30..+30 applied to the Pose2Sim pairs and to Human3.6M sequences: with
   the rig (every offset) and without it, intrinsics only (every 10th / 20th offset: slower). Writes selfcal.json and selfcal.png.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from binopose.geometry.camera import undistort_points
from binopose.geometry.rig import Camera, StereoRig, load_cameras
from binopose.geometry.triangulation import triangulate
from binopose.io_utils import atomic_write_json
from binopose.selfcal import SelfCalConfig, SelfCalRefused, calibrate_from_keypoints
from binopose.selfcal.scale import height_from_poses, scale_from_height
from binopose.selfcal.sync import find_offset
from binopose.video.detect import blazepose_to_17

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def angle_deg(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def rig_errors(rig: StereoRig, R_true: np.ndarray, t_true: np.ndarray) -> dict:
    t = rig.t_right_from_left
    cos = t @ t_true / np.linalg.norm(t) / np.linalg.norm(t_true)
    return {
        "rotation_err_deg": angle_deg(rig.R_right_from_left.T @ R_true),
        "baseline_dir_err_deg": float(np.degrees(np.arccos(np.clip(cos, -1, 1)))),
        "scale_err_pct": float(100 * (np.linalg.norm(t) / np.linalg.norm(t_true) - 1)),
    }


def tri(kp: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    P = np.stack([K[0] @ np.eye(3, 4), K[1] @ np.concatenate([R, t[:, None]], 1)])
    return triangulate(torch.tensor(kp), torch.tensor(P)).numpy()


def mpjpe(X: np.ndarray, gt: np.ndarray, root: int | None = None) -> float:
    if root is not None:
        X, gt = X - X[:, root : root + 1], gt - gt[:, root : root + 1]
    return float(np.nanmean(np.linalg.norm(X - gt, axis=-1)))


def scale_rows(res, R_true, t_true, oracle_gt: float, oracle_det: float) -> dict:
    rep = res.report
    unit = res.X_mm / rep["baseline_mm"]
    base = np.linalg.norm(t_true)
    return {
        "scale_err_pct_height_default": 100 * (rep["baseline_mm_by_method"]["height"] / base - 1),
        "scale_err_pct_bones": 100 * (rep["baseline_mm_by_method"]["bones"] / base - 1),
        "scale_err_pct_height_oracle_gt": 100 * (scale_from_height(unit, oracle_gt) / base - 1),
        "scale_err_pct_height_oracle_det": 100 * (scale_from_height(unit, oracle_det) / base - 1),
        "oracle_height_gt_mm": oracle_gt,
        "oracle_height_det_mm": oracle_det,
    }


#: thresholds off: what the rig would have been where the default settings refuse
FORCED = {"min_inlier_ratio": 0.0, "max_median_residual": 1.0, "min_motion": 0.0, "min_baseline_ratio": 0.0,
          "max_rotation_std_deg": 1e9}  # fmt: skip


def eval_pair(kp, K, cams, R_true, t_true, gt_left, cfg) -> dict:
    t0 = time.perf_counter()
    refused = None
    try:
        res = calibrate_from_keypoints(kp, None, cams[0], cams[1], cfg)
    except SelfCalRefused as e:
        refused = str(e)
        res = calibrate_from_keypoints(kp, None, cams[0], cams[1], replace(cfg, **FORCED))
    row = {"refused": refused, "seconds": time.perf_counter() - t0, **rig_errors(res.rig, R_true, t_true)}
    X_true = tri(kp, K, R_true, t_true)
    row.update(scale_rows(res, R_true, t_true, height_from_poses(gt_left), height_from_poses(X_true)))
    rep = res.report
    X_self = tri(kp, K, res.rig.R_right_from_left, res.rig.t_right_from_left)
    s_oracle = 1 + row["scale_err_pct_height_oracle_det"] / 100
    s_self = 1 + row["scale_err_pct_height_default"] / 100
    row.update(
        mpjpe_true_rig_mm=mpjpe(X_true, gt_left),
        mpjpe_self_rig_mm=mpjpe(X_self, gt_left),
        mpjpe_self_rig_oracle_scale_mm=mpjpe(X_self * s_oracle / s_self, gt_left),
        mpjpe_rel_true_rig_mm=mpjpe(X_true, gt_left, 6),
        mpjpe_rel_self_rig_mm=mpjpe(X_self, gt_left, 6),
        report={k: rep[k] for k in rep if k not in ("config",)},
    )
    return row


def h36m(cfg: SelfCalConfig) -> dict:
    d = np.load(DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz")
    out = {}
    for s in ("S1", "S5", "S6", "S7", "S8"):
        m = d["subject"] == s
        i0 = int(np.flatnonzero(m)[0])
        K = d["K"][i0].astype(np.float64)
        cams = (Camera("left", (1000, 1002), K[0]), Camera("right", (1000, 1000), K[1]))
        R, t = d["R_right_from_left"][i0], d["t_right_from_left_mm"][i0]
        kp = d["kp2d_pred"][m].astype(np.float64)
        out[s] = eval_pair(kp, K, cams, R, t, d["kp3d_gt"][m].astype(np.float64), cfg)
        print(s, {k: round(v, 3) for k, v in out[s].items() if isinstance(v, float)}, flush=True)
    return out


def pose2sim_views() -> tuple[list[Camera], np.ndarray, np.ndarray]:
    """Cameras, raw MediaPipe joints (4, 99, 17, 2) undistorted and synced, 4-view reference (99, 17, 3) mm."""
    ref = np.load(DATA / "pose2sim_demo" / "reference_4view.npz")
    cams = load_cameras(DATA / "pose2sim_demo" / "calibration_opencv.toml")
    raw = ref["kp2d_blazepose"].astype(np.float64)
    kp17, conf = blazepose_to_17(raw[..., :2], raw[..., 2])
    idx = ref["video_frame_idx"]
    views = []
    for c in range(4):
        k = kp17[c, idx[c]]
        k[conf[c, idx[c]] < 0.3] = np.nan
        views.append(
            undistort_points(torch.tensor(k), torch.tensor(cams[c].K), torch.tensor(cams[c].dist)).numpy()
        )
    return cams, np.stack(views), ref["kp3d_ref_4view_mm"]


def pose2sim(cfg: SelfCalConfig) -> dict:
    cams, views, X_world = pose2sim_views()
    out = {}
    for a, b in itertools.combinations(range(4), 2):
        rig = StereoRig(cams[a], cams[b])
        gt_left = X_world @ cams[a].R.T + cams[a].t
        kp = np.stack([views[a], views[b]], 1)
        K = np.stack([cams[a].K, cams[b].K])
        name = f"{cams[a].name}-{cams[b].name}"
        out[name] = eval_pair(
            kp, K, (cams[a], cams[b]), rig.R_right_from_left, rig.t_right_from_left, gt_left, cfg
        )
        print(
            name,
            {k: round(v, 3) for k, v in out[name].items() if isinstance(v, float)},
            out[name].get("refused", ""),
            flush=True,
        )
    return out


def shifted(kl: np.ndarray, kr: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut the two views so that right frame i + n shows the instant of left frame i."""
    return (kl[n:], kr) if n >= 0 else (kl, kr[-n:])


def sync_cases(name: str, kl, kr, rig, max_offset: int, step: int = 1, K=None) -> list[dict]:
    rows = []
    for n in range(-max_offset, max_offset + 1, step):
        res = find_offset(*shifted(kl, kr, n), max_offset, rig, K=K)
        rows.append(
            {
                "case": name,
                "true": n,
                "found": res.offset,
                "subframe": res.subframe,
                "confidence": res.confidence,
            }
        )
    return rows


def summarise(rows: list[dict]) -> dict:
    ok = [r["true"] == r["found"] for r in rows]
    near = [abs(r["true"] - r["found"]) <= 1 for r in rows]
    per_case: dict = {}
    for r, o in zip(rows, ok):
        per_case.setdefault(r["case"], []).append(o)
    return {
        "cases": len(rows),
        "exact": int(sum(ok)),
        "exact_pct": 100 * float(np.mean(ok)),
        "within_1_pct": 100 * float(np.mean(near)),
        "exact_pct_per_case": {k: 100 * float(np.mean(v)) for k, v in per_case.items()},
        "failures": [r for r, o in zip(rows, ok) if not o],
    }


def sync_eval(h36m_seqs: int, norig_step: int) -> dict:
    cams, views, _ = pose2sim_views()
    out = {"pose2sim_rig": [], "pose2sim_norig": [], "h36m_rig": [], "h36m_norig": []}
    for a, b in itertools.combinations(range(4), 2):
        name = f"{cams[a].name}-{cams[b].name}"
        out["pose2sim_rig"] += sync_cases(name, views[a], views[b], StereoRig(cams[a], cams[b]), 30)
        Ks = np.stack([cams[a].K, cams[b].K])
        out["pose2sim_norig"] += sync_cases(name, views[a], views[b], None, 30, step=norig_step, K=Ks)
    d = np.load(DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz")
    key = np.char.add(np.char.add(d["subject"].astype(str), "/"), d["sequence"].astype(str))
    seqs = list(dict.fromkeys(key.tolist()))
    pick = [seqs[i] for i in np.linspace(0, len(seqs) - 1, h36m_seqs).astype(int)]
    for q in pick:
        m = key == q
        i0 = int(np.flatnonzero(m)[0])
        K = d["K"][i0].astype(np.float64)
        rig = StereoRig(Camera("l", (1000, 1002), K[0]),
                        Camera("r", (1000, 1000), K[1], R=d["R_right_from_left"][i0], t=d["t_right_from_left_mm"][i0]))  # fmt: skip
        kp = d["kp2d_pred"][m].astype(np.float64)
        out["h36m_rig"] += sync_cases(q, kp[:, 0], kp[:, 1], rig, 30)
        out["h36m_norig"] += sync_cases(q, kp[:, 0], kp[:, 1], None, 30, step=2 * norig_step, K=K)
        print(q, summarise(out["h36m_rig"])["exact_pct"], flush=True)
    return {k: summarise(v) for k, v in out.items()}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {**result["h36m"], **result["pose2sim"]}
    names = list(rows)
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    x = np.arange(len(names))
    ax[0].bar(x - 0.2, [rows[n]["rotation_err_deg"] for n in names], 0.4, label="rotation")
    ax[0].bar(x + 0.2, [rows[n]["baseline_dir_err_deg"] for n in names], 0.4, label="baseline direction")
    ax[0].axhline(1.0, color="k", lw=0.8, ls="--")
    ax[0].set_ylabel("error (deg)")
    for key, lab, dx in (("scale_err_pct_height_default", "height 1700", -0.27), ("scale_err_pct_bones", "bones", 0),
                         ("scale_err_pct_height_oracle_det", "oracle height", 0.27)):  # fmt: skip
        ax[1].bar(x + dx, [rows[n][key] for n in names], 0.27, label=lab)
    ax[1].axhspan(-2, 2, color="0.9")
    ax[1].set_ylabel("scale error (%)")
    ax[2].bar(x - 0.2, [rows[n]["mpjpe_true_rig_mm"] for n in names], 0.4, label="true rig")
    ax[2].bar(
        x + 0.2,
        [rows[n]["mpjpe_self_rig_oracle_scale_mm"] for n in names],
        0.4,
        label="self-calibrated (oracle scale)",
    )
    ax[2].set_ylabel("MPJPE (mm)")
    for a in ax:
        a.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        a.legend(fontsize=8)
    fig.suptitle("Calibration from the person: H36M SH (S*) and Pose2Sim pairs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="experiments/results/selfcal")
    p.add_argument(
        "--h36m-seqs", type=int, default=8, help="H36M sequences for the sync test (spread evenly)"
    )
    p.add_argument("--norig-step", type=int, default=10, help="offset step of the slower tests without a rig")
    p.add_argument("--skip-sync", action="store_true")
    args = p.parse_args()
    cfg = SelfCalConfig()
    t0 = time.perf_counter()
    result = {"command": " ".join(sys.argv), "machine": platform.platform(), "config": cfg.__dict__}
    result["h36m"] = h36m(cfg)
    result["pose2sim"] = pose2sim(cfg)
    if not args.skip_sync:
        result["sync"] = sync_eval(args.h36m_seqs, args.norig_step)
        for k, v in result["sync"].items():
            print(
                f"sync {k}: {v['exact']}/{v['cases']} exact ({v['exact_pct']:.1f}%), {v['within_1_pct']:.1f}% within 1"
            )
    result["seconds"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "selfcal.json", result)
    plot(result, out / "selfcal.png")
    print(f"wrote {out / 'selfcal.json'} and {out / 'selfcal.png'}")


if __name__ == "__main__":
    main()
