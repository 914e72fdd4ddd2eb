"""MediaPipe's 2D error on the Pose2Sim capture without ground truth (leave one camera out).

    PYTHONPATH=src .venv/bin/python experiments/mediapipe_errors.py [--data DIR] [--out DIR] [--img PNG]

For each camera and frame every joint is triangulated from the three other cameras (confidence-
weighted DLT, undistorted pixels), projected into the left-out camera with its distortion, and
``detection - reprojection`` is that camera's residual. The reference's own error is propagated to
first order (``loo.py``) and removed from the variances. Sizes are fractions of the person's size
in the image (``pose_scale_px``). Writes an ErrorModel2D ("mediapipe"), a confidence model and every
measured number as JSON, and a figure. See docs/POSE2SIM.md.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch
from loo import (
    bootstrap_view_sd,
    dproj_dX,
    leave_one_out,
    reference_variance,
    relative_jacobian,
    solve_view_variance,
)
from mediapipe_fit import biases, confidence_model, frame_offsets, tails
from pose2sim_data import (
    DEFAULT_DATA,
    RESULTS,
    ROOT,
    Capture,
    distort_views,
    load_capture,
    undistort_views,
    world_P,
)

from binopose.data.noise import ErrorModel2D, pose_scale_px
from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write_json
from binopose.skeleton import JOINT_NAMES


def pair_correlation(
    e: np.ndarray, jac: np.ndarray, var_px: np.ndarray, X: np.ndarray, P: torch.Tensor, a: int, b: int
) -> dict:
    """Correlation of the 3D errors of cameras a and b along the one direction both cameras see.

    Each leave-one-out residual (bias removed) goes back to 3D as the smallest displacement of the
    point that explains it (perpendicular to the camera's ray) and is projected on n = ray_a x ray_b.
    The residuals share the errors of the other views, and a's detection enters b's reference and
    back: the covariance that independent errors would give (first order, from the Jacobians) is
    subtracted, and the rest divided by the views' own propagated sd.

    Args:
        e: (C, F, J, 2) residuals (pixels). jac: (C, F, J, 2, C, 2). var_px: (C, F, J, 2) each view's
            own error variance (pixels^2). X: (F, J, 3) points (world mm). P: (C, 3, 4).
    """
    Pn = P.numpy()
    centres = [-np.linalg.inv(Pn[k][:, :3]) @ Pn[k][:, 3] for k in (a, b)]
    n = np.cross(X - centres[0], X - centres[1])
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    w = {k: np.einsum("fji,fjik->fjk", n, np.linalg.pinv(dproj_dX(X, Pn[k]))) for k in (a, b)}  # (F, J, 2)
    s = {k: np.sum(w[k] * e[k], -1) for k in (a, b)}  # mm along n
    g = {k: np.einsum("fja,fjakb->fjkb", w[k], jac[k]) for k in (a, b)}  # (F, J, C, 2): mm per px of view k'
    v = var_px.transpose(1, 2, 0, 3)  # (F, J, C, 2)
    o = [k for k in range(e.shape[0]) if k not in (a, b)]
    shared = np.sum(g[a][:, :, o] * g[b][:, :, o] * v[:, :, o], (-1, -2))
    cross = np.sum(g[b][:, :, a] * v[:, :, a] * w[a], -1) + np.sum(g[a][:, :, b] * v[:, :, b] * w[b], -1)
    null = np.nanmean(shared - cross)
    own = [np.nanmean(np.sum(w[k] ** 2 * v[:, :, k], -1)) for k in (a, b)]
    cov, var = np.nanmean(s[a] * s[b]), [np.nanmean(s[k] ** 2) for k in (a, b)]
    return {
        "raw": float(cov / np.sqrt(var[0] * var[1])),
        "independent_errors_would_give": float(null / np.sqrt(var[0] * var[1])),
        "corrected": float((cov - null) / np.sqrt(own[0] * own[1])),
        "own_sd_mm": [float(np.sqrt(x)) for x in own],
    }


def measure(cap: Capture) -> dict:
    """Every statistic of the leave-one-out residuals (relative units unless named _px)."""
    uv, P = undistort_views(cap.kp, cap.cams), world_P(cap.cams)
    reproj, jac = leave_one_out(uv, cap.conf, P)
    res_px = cap.kp - distort_views(reproj, cap.cams)
    scale = pose_scale_px(torch.as_tensor(cap.kp)).numpy()  # (C, F)
    r = res_px / scale[..., None, None]
    jr = relative_jacobian(jac, scale)
    b = biases(r, cap.kp)
    rc = r - b["per_camera"][:, None]
    var_tot, ref_tot = solve_view_variance(rc, jr)  # offsets included (for the view correlation)
    off, rj = frame_offsets(rc)
    var_j, ref_j = solve_view_variance(rj, jr)  # per-joint part, offsets removed
    boot = bootstrap_view_sd(rj, jr, reps=50)  # (50, C)
    var_px = var_tot[:, None] * scale[..., None, None] ** 2
    e = rc * scale[..., None, None]
    pairs = {
        f"{cap.names[i]}-{cap.names[k]}": pair_correlation(e, jac, var_px, cap.ref_world, P, i, k)
        for i, k in itertools.combinations(range(len(cap.names)), 2)
    }
    return {
        "scale_px_mean": scale.mean(1),
        "biases": b,
        "offsets": off,
        "var_joint": var_j,
        "ref_joint": ref_j,
        "var_total": var_tot,
        "ref_total": ref_tot,
        "tails": tails(rj, ref_j / (var_j + ref_j)),
        "pairs": pairs,
        "confidence": confidence_model(cap.conf, rj, reference_variance(jr, var_j)),
        "swap": {"per_camera": cap.lr_flipped.mean(1), "overall": float(cap.lr_flipped.mean())},
        "residual_px_median": np.nanmedian(np.linalg.norm(res_px, axis=-1), axis=(1, 2)),
        "bootstrap_sd": {
            "per_camera_2.5_50_97.5": np.percentile(boot, [2.5, 50, 97.5], axis=0),
            "all_cameras_2.5_50_97.5": np.percentile(np.sqrt((boot**2).mean(1)), [2.5, 50, 97.5]),
            "method": "50 moving-block bootstrap resamples of the 99 frames (blocks of 10)",
        },
    }


def error_model(m: dict) -> ErrorModel2D:
    """The measurement as an ErrorModel2D: the same error law in both views of a pair."""
    sd = np.sqrt(m["var_joint"].mean(0))  # (J, 2) over the cameras
    rho = float(np.clip(np.mean([p["corrected"] for p in m["pairs"].values()]), 0.0, 1.0))
    p, k = m["tails"]["outlier_prob"], m["tails"]["outlier_factor"]
    base = 1 / np.sqrt(1 - p + p * k**2)  # the mixture's sd is base^-1 times its narrow part
    off_sd = np.sqrt(np.nanmean(m["offsets"] ** 2, axis=(0, 1)))  # (2,) u, v
    return ErrorModel2D(
        name="mediapipe",
        bias=[m["biases"]["joint_image"].tolist()] * 2,
        shared_sigma=(sd * np.sqrt(rho) * base).tolist(),
        indep_sigma=[(sd * np.sqrt(1 - rho) * base).tolist()] * 2,
        offset_sigma=[0.0, float(off_sd[1])],
        offset_disparity_sigma=float(off_sd[0]),
        outlier_prob=p,
        outlier_factor=k,
        swap_prob=m["swap"]["overall"],
        default_level=1.0,
    )


def _jsonable(x: object) -> object:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return np.round(x, 6).tolist()
    if isinstance(x, (np.floating, float)):
        return round(float(x), 6)
    return x


def summary(m: dict, names: list[str]) -> dict:
    """The numbers worth reading, per camera and joint (relative units, and px at the mean person size)."""
    sd_j = np.sqrt(m["var_joint"])  # (C, J, 2)
    share = m["ref_joint"] / (m["var_joint"] + m["ref_joint"])
    return {
        "cameras": names,
        "person_size_px": m["scale_px_mean"],
        "residual_px_median": m["residual_px_median"],
        "camera_constant_offset": m["biases"]["camera_constant"],
        "camera_constant_offset_px": m["biases"]["camera_constant"] * m["scale_px_mean"][:, None],
        "joint_sd": {JOINT_NAMES[j]: np.sqrt((sd_j[:, j] ** 2).mean(0)) for j in range(len(JOINT_NAMES))},
        "joint_sd_residual": np.sqrt((m["var_joint"] + m["ref_joint"]).mean(0)),
        "camera_sd_px": np.sqrt(m["var_joint"].mean((1, 2))) * m["scale_px_mean"],
        "camera_sd": np.sqrt(m["var_joint"].mean((1, 2))),
        "all_cameras_sd": float(np.sqrt(m["var_joint"].mean())),
        "all_cameras_residual_sd": float(np.sqrt((m["var_joint"] + m["ref_joint"]).mean())),
        "bootstrap_sd": m["bootstrap_sd"],
        "reference_share_per_camera": share.mean((1, 2)),
        "joint_bias_image": {JOINT_NAMES[j]: m["biases"]["joint_image"][j] for j in range(len(JOINT_NAMES))},
        "joint_bias_body_left_up": {
            JOINT_NAMES[j]: m["biases"]["joint_body"][j] for j in range(len(JOINT_NAMES))
        },
        "frame_offset_sd_uv": np.sqrt(np.nanmean(m["offsets"] ** 2, axis=(0, 1))),
        "tails": m["tails"],
        "view_correlation_3d": m["pairs"],
        "swap_rate": m["swap"],
    }


def plot(m: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2.2, 1]})
    sd = np.sqrt(m["var_joint"].mean(0)) * 100  # % of the person's size
    obs = np.sqrt((m["var_joint"] + m["ref_joint"]).mean(0)) * 100
    x = np.arange(len(JOINT_NAMES))
    for i, axis in enumerate("uv"):
        ax[0].bar(x + (i - 0.5) * 0.4, sd[:, i], 0.4, label=f"MediaPipe sd, {axis}")
        ax[0].plot(
            x + (i - 0.5) * 0.4, obs[:, i], "k_", ms=9, label="leave-one-out residual sd" if i else None
        )
    ax[0].set_xticks(x, JOINT_NAMES, rotation=60, ha="right", fontsize=8)
    ax[0].set_ylabel("% of the person's size in the image")
    ax[0].set_title("per-joint 2D error (reference's propagated error removed)", fontsize=9)
    ax[0].legend(fontsize=8)
    rows = m["confidence"]["bins"]
    c = [r["mean_conf"] for r in rows]
    ax[1].plot(c, [100 * r["sd_residual"] for r in rows], "o--", label="residual")
    ax[1].plot(c, [100 * r["sd_detector"] for r in rows], "o-", label="detector (reference removed)")
    for r in rows:
        ax[1].annotate(str(r["n"]), (r["mean_conf"], 100 * r["sd_residual"]), fontsize=7)
    ax[1].set_xlabel("MediaPipe confidence (bin mean; n = points)")
    ax[1].set_ylabel("error sd per axis (% of person size)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _print(s: dict) -> None:
    print("camera            " + "  ".join(f"{n:>8}" for n in s["cameras"]))
    for key, fmt in (
        ("person_size_px", "{:8.0f}"),
        ("residual_px_median", "{:8.1f}"),
        ("camera_sd_px", "{:8.1f}"),
        ("reference_share_per_camera", "{:8.2f}"),
    ):
        print(f"{key:18s}" + "  ".join(fmt.format(v) for v in s[key]))
    print(f"{'joint':16s} sd_u%  sd_v%  bias_u% bias_v%  left%   up%")
    for n in JOINT_NAMES:
        sd, bi, bo = s["joint_sd"][n], s["joint_bias_image"][n], s["joint_bias_body_left_up"][n]
        print(
            f"{n:16s} {100 * sd[0]:5.2f}  {100 * sd[1]:5.2f}  {100 * bi[0]:6.2f}  {100 * bi[1]:6.2f}"
            f"  {100 * bo[0]:5.2f} {100 * bo[1]:5.2f}"
        )
    lo, mid, hi = s["bootstrap_sd"]["all_cameras_2.5_50_97.5"]
    print(
        f"per-joint sd, all cameras: {100 * s['all_cameras_sd']:.2f} % of person size (bootstrap 95 %: "
        f"{100 * lo:.2f}-{100 * hi:.2f}); residual sd {100 * s['all_cameras_residual_sd']:.2f} %; per camera "
        + ", ".join(
            f"{100 * a:.2f} ({100 * b:.2f}-{100 * c:.2f})"
            for a, b, c in zip(s["camera_sd"], *s["bootstrap_sd"]["per_camera_2.5_50_97.5"][[0, 2]])
        )
    )
    t = s["tails"]
    print(
        f"tails: {100 * t['beyond_3sd']:.2f} % beyond 3 sd (Gaussian 0.27 %), {100 * t['beyond_5sd']:.2f} % beyond 5, "
        f"excess kurtosis {t['excess_kurtosis_residual']:.2f}; contaminated Gaussian p {t['outlier_prob']:.3f}, "
        f"factor {t['outlier_factor']:.2f} (ignoring the reference: {t['fit_ignoring_reference']})"
    )
    print(
        "view correlation (3D, along the common direction): "
        + ", ".join(
            f"{k} {v['corrected']:+.2f} (raw {v['raw']:+.2f})" for k, v in s["view_correlation_3d"].items()
        )
    )
    print(
        f"frame offset sd (u, v): {100 * s['frame_offset_sd_uv'][0]:.2f} %, {100 * s['frame_offset_sd_uv'][1]:.2f} %;"
        f" swap rate {s['swap_rate']['overall']:.3f} (per camera {s['swap_rate']['per_camera']})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=RESULTS, help="folder of the JSON results")
    ap.add_argument("--img", type=Path, default=ROOT / "docs" / "img" / "mediapipe_errors.png")
    args = ap.parse_args(argv)
    try:
        cap = load_capture(args.data)
    except BinoposeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = measure(cap)
    s = summary(m, cap.names)
    _print(s)
    model = error_model(m)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "mediapipe_error_model.json")
    conf = {"name": "mediapipe", "joints": list(JOINT_NAMES), **m["confidence"]}
    atomic_write_json(args.out / "mediapipe_confidence_model.json", _jsonable(conf))
    atomic_write_json(args.out / "mediapipe_errors.json", _jsonable({"command": " ".join(sys.argv), **s}))
    args.img.parent.mkdir(parents=True, exist_ok=True)
    plot(m, args.img)
    print(
        f"wrote {args.out}/mediapipe_error_model.json, mediapipe_confidence_model.json, mediapipe_errors.json, {args.img}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
