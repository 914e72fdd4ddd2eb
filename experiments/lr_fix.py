"""How often the left/right repair (``video.pipeline.fix_left_right``) swaps a frame whose labels were
right, and how often it repairs a frame whose right view was swapped, over distance, baseline and noise.

Held-out 3D poses (Human3.6M S8, random yaw: frontal, back and side views) on virtual rigs with a fixed
focal length (1000 px) at each distance and baseline, parallel (rectified) or convergent cameras;
i.i.d. Gaussian 2D noise of ``sigma`` px per coordinate in both views. Each cell holds ``--n`` frames
with correct labels and the same frames with the right view's left/right labels swapped. A "side"
view is one whose hip line points within 25 degrees of the left camera's axis (left and right joints
nearly coincide in the image). Prints a table and writes JSON with the command.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/lr_fix.py --pose2sim --out experiments/results/lr_fix_after.json

``--pose2sim`` adds the Pose2Sim capture's camera pairs (real BlazePose swaps, docs/POSE2SIM.md),
``--null`` the swap test's null case simulated (right labels, a swap without epipolar effect).
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from binopose.data.corpora import load_corpus
from binopose.data.rigs import RigConfig, sample_scene
from binopose.geometry import project, triangulate
from binopose.geometry.rig import StereoRig, load_cameras
from binopose.io_utils import atomic_write_text, json_text
from binopose.skeleton import ROOT, flip_permutation
from binopose.video.pipeline import fix_left_right, undistort

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DISTANCES_M = [2.0, 5.0, 10.0, 20.0, 30.0]
BASELINES_MM = [60.0, 120.0, 250.0, 500.0]
SIGMAS_PX = [0.0, 0.5, 1.0, 2.0, 4.0]
FOCAL_PX = 1000.0
SIDE_COS = float(np.cos(np.radians(25.0)))  # hip line within 25 degrees of the optical axis


def _scene(poses: torch.Tensor, dist_m: float, base_mm: float, converge: bool, seed: int):
    cfg = RigConfig(
        baseline_ratio=(1e-4, 1e4),
        baseline_m=(base_mm / 1000, base_mm / 1000),
        distance_m=(dist_m, dist_m),
        person_height_px=(FOCAL_PX * 1.7 / dist_m,) * 2,  # f = FOCAL_PX at the pelvis' depth
        converge_prob=1.0 if converge else 0.0,
    )
    return sample_scene(poses, cfg, torch.Generator().manual_seed(seed))


def _symmetric(X: torch.Tensor) -> torch.Tensor:
    """(N, 17, 3) camera-frame poses made mirror-symmetric about the vertical plane through the pelvis:
    in a rectified pair each left/right pair of joints then lies on one image row, and swapping the
    labels moves no joint across the epipolar lines (the worst case for the repair)."""
    M = X[:, flip_permutation()].clone()
    M[..., 0] = 2 * X[:, ROOT : ROOT + 1, 0] - M[..., 0]
    return (X + M) / 2


def _noisy(X: torch.Tensor, P: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    uv = project(X, P)
    return uv + sigma * torch.randn(
        uv.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )


def _cell(
    poses: torch.Tensor,
    dist_m: float,
    base_mm: float,
    sigma: float,
    converge: bool,
    seed: int,
    ratio: float | None,
) -> dict:
    s = _scene(poses, dist_m, base_mm, converge, seed)
    uv = _noisy(s.X, s.P, sigma, seed + 1)
    conf = torch.ones(uv.shape[:-1], dtype=torch.float64)
    bad = uv.clone()
    bad[:, 1] = uv[:, 1][:, flip_permutation()]
    kw = {} if ratio is None else {"ratio": ratio}
    kept_uv, kept_conf, wrong = fix_left_right(uv, conf, s.P, **kw)
    found = fix_left_right(bad, conf, s.P, **kw)[2]
    # the worst case: mirror-symmetric people in front of a rectified pair (None for convergent rigs)
    sym = (
        None
        if converge
        else fix_left_right(_noisy(_symmetric(s.X), s.P, sigma, seed + 2), conf, s.P, **kw)[2]
    )
    hip = s.X[:, 3] - s.X[:, 2]
    side = (hip[:, 2].abs() / hip.norm(dim=-1)) > SIDE_COS
    depth = triangulate(uv, s.P, conf)[:, :, 2].median(dim=1).values
    wrong_depth = triangulate(kept_uv, s.P, kept_conf)[:, :, 2].median(dim=1).values
    return {
        "distance_m": dist_m,
        "baseline_mm": base_mm,
        "sigma_px": sigma,
        "convergent": converge,
        "n": len(poses),
        "wrong_swap": float(wrong.double().mean()),
        "wrong_swap_side": float(wrong[side].double().mean()) if side.any() else None,
        "n_side": int(side.sum()),
        "right_swap": float(found.double().mean()),
        "wrong_swap_symmetric": None if sym is None else float(sym.double().mean()),
        "depth_ratio_wrong": float((wrong_depth[wrong] / depth[wrong]).median()) if wrong.any() else None,
    }


def _table(rows: list[dict]) -> str:
    """Per (distance, baseline): wrong-swap % and right-swap % at each noise level, both rig kinds pooled."""
    head = "| distance | baseline | " + " | ".join(f"{s:g} px" for s in SIGMAS_PX) + " |"
    lines = [
        "wrong-swap % (correct labels swapped) / right-swap % (swapped right view repaired), "
        "parallel+convergent pooled",
        head,
        "|---|---|" + "---|" * len(SIGMAS_PX),
    ]
    for d in DISTANCES_M:
        for b in BASELINES_MM:
            cells = []
            for s in SIGMAS_PX:
                r = [x for x in rows if (x["distance_m"], x["baseline_mm"], x["sigma_px"]) == (d, b, s)]
                w = 100 * np.mean([x["wrong_swap"] for x in r])
                f = 100 * np.mean([x["right_swap"] for x in r])
                cells.append(f"{w:.1f} / {f:.0f}")
            lines.append(f"| {d:g} m | {b:g} mm | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(rows: list[dict]) -> dict:
    side = [x for x in rows if x["wrong_swap_side"] is not None]
    sym = [x for x in rows if x["wrong_swap_symmetric"] is not None]
    return {
        "wrong_swap_all": float(np.mean([x["wrong_swap"] for x in rows])),
        "wrong_swap_symmetric_all": float(np.mean([x["wrong_swap_symmetric"] for x in sym])),
        "wrong_swap_symmetric_max": max(x["wrong_swap_symmetric"] for x in sym),
        "wrong_swap_side_views": float(
            np.average([x["wrong_swap_side"] for x in side], weights=[x["n_side"] for x in side])
        ),
        "right_swap_all": float(np.mean([x["right_swap"] for x in rows])),
        "wrong_swap_worst_cell": max(rows, key=lambda x: x["wrong_swap"]),
        "right_swap_worst_cell": min(rows, key=lambda x: x["right_swap"]),
    }


def _pair_mpjpe(kp: np.ndarray, rig: StereoRig, ref: np.ndarray, kw: dict) -> tuple[float, float, int]:
    """Triangulation MPJPE (mm) of a pair's (2, F, 17, 3) keypoints without and with the repair (``kw``:
    fix_left_right's ratio), and the number of repaired frames."""
    P = rig.projection_matrices(torch.float64)
    uv = undistort(np.stack([kp[0, ..., :2], kp[1, ..., :2]], 1), rig)
    conf = torch.as_tensor(np.stack([kp[0, ..., 2], kp[1, ..., 2]], 1), dtype=torch.float64)
    fixed, fixed_conf, swapped = fix_left_right(uv, conf, P, **kw)
    err = [
        float(np.nanmean(np.linalg.norm(triangulate(u, P, c).numpy() - ref, axis=-1)))
        for u, c in ((uv, conf), (fixed, fixed_conf))
    ]
    return err[0], err[1], int(swapped.sum())


def pose2sim(ratio: float | None) -> list[dict]:
    """Every camera pair of the Pose2Sim capture, its MediaPipe 2D with the reference's left/right flips
    undone (BlazePose's own swaps: 32 of 99 frames of cam02): repairs and triangulation MPJPE (mm)
    against the 4-view reference, without and with the repair."""
    from pose2sim_study import DEFAULT_DATA, to_camera

    d = np.load(DEFAULT_DATA / "reference_4view.npz")
    cams = load_cameras(DEFAULT_DATA / "calibration_opencv.toml")
    idx, kp = d["video_frame_idx"], d["kp2d_h36m17_synced"].copy()
    flipped = np.stack([d["lr_flipped"][c, idx[c]] for c in range(len(cams))])
    for c in range(len(cams)):
        kp[c, flipped[c]] = kp[c, flipped[c]][:, flip_permutation()]
    rows = []
    for a, b in itertools.combinations(range(len(cams)), 2):
        ref = to_camera(d["kp3d_ref_4view_mm"], cams[a])
        none, repair, n = _pair_mpjpe(
            kp[[a, b]], StereoRig(cams[a], cams[b]), ref, {} if ratio is None else {"ratio": ratio}
        )
        rows.append(
            {
                "pair": f"{cams[a].name}-{cams[b].name}",
                "swapped_frames": int((flipped[a] ^ flipped[b]).sum()),
                "repaired_frames": n,
                "mpjpe_mm_none": none,
                "mpjpe_mm_repair": repair,
            }
        )
        print(rows[-1])
    return rows


def null_rates(draws: int = 1_000_000, seed: int = 0) -> list[dict]:
    """The swap test's null case by simulation: right labels, a swap that moves no joint across the
    epipolar lines, Gaussian noise. Per joint the squared Sampson distance is half the squared difference
    of the two views' noise across the lines; the swap pairs the left view's joint with the right view's
    mirror joint. Returns the fraction of frames whose ratio (swapped / as given) falls below each
    threshold, for ``pairs`` left/right pairs seen and 5 central joints."""
    rng, rows = np.random.default_rng(seed), []
    for pairs in (6, 4, 2, 1):
        n = 2 * pairs + 5
        a, b = rng.normal(size=(draws, n)), rng.normal(size=(draws, n))
        mirror = np.arange(n)
        mirror[: 2 * pairs] = np.arange(2 * pairs).reshape(pairs, 2)[:, ::-1].ravel()
        ratio = ((a - b[:, mirror]) ** 2).sum(1) / ((a - b) ** 2).sum(1)
        rows.append({"pairs": pairs} | {f"below_{c}": float((ratio < c).mean()) for c in (0.25, 0.4, 0.49)})
        print(rows[-1])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="frames per cell")
    ap.add_argument("--out", type=Path, default=None, help="JSON record")
    ap.add_argument("--ratio", type=float, default=None, help="fix_left_right's ratio (default: its own)")
    ap.add_argument("--pose2sim", action="store_true", help="also the Pose2Sim capture's pairs")
    ap.add_argument("--null", action="store_true", help="also the test's null case, simulated")
    args = ap.parse_args()
    torch.set_num_threads(1)
    corpus = load_corpus(DATA / "h36m_train" / "h36m_train_poses.npz", stride=1)
    val = corpus.select(np.char.endswith(corpus.group, ":S8"))
    pick = np.random.default_rng(0).choice(len(val), args.n, replace=False)
    poses = torch.from_numpy(val.poses[pick]).double()
    rows = []
    for i, (d, b, s, c) in enumerate(
        (d, b, s, c) for d in DISTANCES_M for b in BASELINES_MM for s in SIGMAS_PX for c in (False, True)
    ):
        rows.append(_cell(poses, d, b, s, c, seed=i, ratio=args.ratio))
    print(_table(rows))
    summary = _summary(rows)
    print({k: v for k, v in summary.items() if not k.endswith("cell")})
    if args.out:
        record = {
            "command": " ".join(["python", *sys.argv]),
            "machine": f"{platform.node()} {platform.processor() or platform.machine()}",
            "torch": torch.__version__,
            "ratio": args.ratio,
            "summary": summary,
            "rows": rows,
        }
        if args.pose2sim:
            record["pose2sim"] = pose2sim(args.ratio)
        if args.null:
            record["null"] = null_rates()
        atomic_write_text(args.out, json_text(record))


if __name__ == "__main__":
    main()
