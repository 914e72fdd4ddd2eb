"""Calibrate a stereo rig from one person's 2D joints in both views (intrinsics given):
essential matrix -> bundle adjustment -> metric scale -> checks -> a :class:`StereoRig` and a report.

A result that the data cannot support raises :class:`SelfCalRefused` (a :class:`BinoposeError`, so the
CLI prints one line and exits 2) naming the problem; nothing is written then.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, StereoRig
from binopose.geometry.triangulation import triangulate
from binopose.selfcal.bundle import BundleResult, bundle_adjust
from binopose.selfcal.essential import EssentialFit, estimate_relative_pose
from binopose.selfcal.scale import DEFAULT_HEIGHT_MM, height_from_poses, scale_from_bones, scale_from_height


class SelfCalRefused(BinoposeError):
    """The clip cannot give a trustworthy rig (the message says why); ``report`` holds what was measured."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class SelfCalConfig:
    min_conf: float = 0.3  # joints below this confidence count as missed
    ransac_rel: float = 0.012  # RANSAC epipolar threshold / the person's height in pixels (min 2 px)
    huber_rel: float = 0.008  # bundle adjustment: Huber threshold / the person's height in pixels
    max_ba_frames: int = 600  # frames in the bundle adjustment (evenly spread over the clip)
    refine_focal: bool = False
    scale: str = "height"  # "height" or "bones" (see binopose.selfcal.scale)
    person_height_mm: float = DEFAULT_HEIGHT_MM
    # refusal thresholds
    min_frames: int = 20  # frames with the person (>= 8 joints) in both views
    min_inlier_ratio: float = 0.4  # RANSAC inliers / joints seen in both views
    max_median_residual: float = 0.02  # median reprojection error / the person's height in pixels
    min_motion: float = 0.05  # median over joints of their 3D spread over time / the person's height
    min_baseline_ratio: float = 0.05  # baseline / median depth of the person
    max_rotation_std_deg: float = (
        0.2  # predicted standard error of the rotation (the real error runs 5-30x higher)
    )


@dataclass(frozen=True)
class SelfCalResult:
    rig: StereoRig
    report: dict
    X_mm: np.ndarray  # (N, 17, 3) triangulation of all frames with the rig (left camera frame)


def _valid(kp: np.ndarray, conf: np.ndarray | None, min_conf: float) -> np.ndarray:
    ok = np.isfinite(kp).all(-1)
    if conf is not None:
        ok &= np.nan_to_num(conf, nan=0.0) >= min_conf
    return ok


def _triangulate(kp: np.ndarray, ok: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    P = np.stack([K[0] @ np.eye(3, 4), K[1] @ np.concatenate([R, t[:, None]], 1)])
    uv = torch.tensor(np.where(ok[..., None], kp, np.nan))
    return triangulate(uv, torch.tensor(P)).numpy()


def _ba_frames(usable: np.ndarray, n_max: int) -> np.ndarray:
    idx = np.flatnonzero(usable)
    return idx[np.unique(np.linspace(0, idx.size - 1, min(n_max, idx.size)).astype(int))]


def _person_px(kp: np.ndarray, ok: np.ndarray) -> float:
    """Median over frames and views of the person's bounding-box height in pixels."""
    y = np.where(ok, kp[..., 1], np.nan)
    with np.errstate(all="ignore"):
        h = np.nanmax(y, -1) - np.nanmin(y, -1)
    h = h[np.isfinite(h) & (ok.sum(-1) >= 8)]
    return float(np.median(h)) if h.size else float("nan")


def _refuse(report: dict, msg: str) -> None:
    report["refused"] = msg
    raise SelfCalRefused(msg, report)


def _check_inliers(report: dict, cfg: SelfCalConfig) -> None:
    if report["inlier_ratio"] < cfg.min_inlier_ratio:
        _refuse(
            report,
            f"only {100 * report['inlier_ratio']:.0f}% of the joints fit one epipolar geometry "
            f"(need {100 * cfg.min_inlier_ratio:.0f}%): the two clips do not show the same person at the same time",
        )


def _check(report: dict, cfg: SelfCalConfig) -> None:
    def refuse(msg: str) -> None:
        _refuse(report, msg)

    if report["residual_median_rel"] > cfg.max_median_residual:
        refuse(
            f"median reprojection error {report['residual_px']['median']:.1f} px is "
            f"{100 * report['residual_median_rel']:.1f}% of the person's height "
            f"(limit {100 * cfg.max_median_residual:.1f}%): the two views do not match (unrelated or unsynchronised clips?)"
        )
    if report["motion_rel"] < cfg.min_motion:
        refuse(
            f"the person hardly moves (joints move {100 * report['motion_rel']:.1f}% of their height, "
            f"need {100 * cfg.min_motion:.0f}%): walk around the whole area both cameras see"
        )
    if report["baseline_to_depth"] < cfg.min_baseline_ratio:
        refuse(
            f"the baseline is too short for the distance (baseline/depth {report['baseline_to_depth']:.3f}, "
            f"need {cfg.min_baseline_ratio}): move the cameras further apart"
        )
    if report.get("focal_std_pct", 0.0) > 2.0:
        refuse(
            f"the focal lengths cannot be found from this clip (standard error {report['focal_std_pct']:.0f}%; "
            "two views fix them only when the optical axes are not coplanar): give intrinsics (--intrinsics)"
        )
    if report["rotation_std_deg"] > cfg.max_rotation_std_deg:
        refuse(
            f"the camera pose is poorly determined (rotation standard error {report['rotation_std_deg']:.2f} deg, "
            f"limit {cfg.max_rotation_std_deg}): record more motion, over more of the image"
        )


def _conditioning(ba: BundleResult, X: np.ndarray, person_px: float) -> dict:
    rot_std = float(np.degrees(np.sqrt(np.trace(ba.camera_cov[:3, :3]))))
    t_std = float(np.degrees(np.sqrt(np.trace(ba.camera_cov[3:5, 3:5]))))
    depth = np.median(X[:, 2])
    res = ba.residual_px
    extra = {}
    if len(ba.camera_cov) > 5:
        extra["focal_std_pct"] = float(100 * np.sqrt(np.diag(ba.camera_cov)[5:].max()))
    return {
        **extra,
        "residual_px": {
            "median": float(np.median(res)),
            "mean": float(np.mean(res)),
            "p90": float(np.percentile(res, 90)),
            "median_left": float(np.median(res[:, 0])),
            "median_right": float(np.median(res[:, 1])),
        },
        "residual_median_rel": float(np.median(res)) / person_px,
        "person_height_px": person_px,
        "baseline_to_depth": float(1.0 / depth),
        "depth_spread_rel": float(np.subtract(*np.percentile(X[:, 2], [95, 5])) / depth),
        "rotation_std_deg": rot_std,
        "baseline_direction_std_deg": t_std,
        "hessian_singular_values": [float(v) for v in ba.hessian_singular_values],
        "hessian_condition": float(
            ba.hessian_singular_values[0] / max(ba.hessian_singular_values[-1], 1e-300)
        ),
        "ba_iterations": ba.iterations,
    }


def _motion(X: np.ndarray, height: float) -> float:
    """How much the joints move: per joint, the spread of its 3D position over the frames (root of the
    summed variances of the 3 axes); the median over the joints, over the person's height."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.sqrt(np.nanvar(X, axis=0).sum(-1))
    return float(np.nanmedian(spread) / height)


def _screen(
    kp: np.ndarray, conf: np.ndarray | None, cfg: SelfCalConfig
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Joints usable in both views (N, 2, 17) and frames with >= 8 of them (N,); refuse empty clips."""
    if kp.ndim != 4 or kp.shape[1:] != (2, 17, 2):
        raise BinoposeError(f"keypoints must be (N, 2, 17, 2), got {kp.shape}")
    ok = _valid(kp, conf, cfg.min_conf)
    per_view = (ok.sum(-1) >= 8).sum(0)
    usable = (ok[:, 0] & ok[:, 1]).sum(-1) >= 8
    report: dict = {
        "config": asdict(cfg),
        "frames_total": len(kp),
        "frames_person_per_view": per_view.tolist(),
    }
    report["frames_both_views"] = int(usable.sum())
    if per_view.min() == 0:
        side = "left" if per_view[0] == 0 else "right"
        raise SelfCalRefused(f"the person is never detected in the {side} view", report)
    if usable.sum() < cfg.min_frames:
        n = int(usable.sum())
        raise SelfCalRefused(
            f"the person is seen in both views in only {n} frames (need {cfg.min_frames})", report
        )
    return ok & usable[:, None, None], usable, report


def _adjust(fit: EssentialFit, usable: np.ndarray, K: np.ndarray, cfg: SelfCalConfig, person_px: float):
    """Bundle adjustment on up to ``cfg.max_ba_frames`` frames; returns it, the frames and the point count."""
    frames = _ba_frames(usable & (fit.usable.sum(-1) >= 4), cfg.max_ba_frames)
    sel = fit.usable[frames]
    X0 = _triangulate(fit.kp[frames], np.repeat(sel[:, None], 2, 1), K, fit.R, fit.t)[sel]
    obs = fit.kp[frames].transpose(0, 2, 1, 3)[sel].reshape(-1, 4)
    keep = np.isfinite(X0).all(1) & (X0[:, 2] > 0)
    huber = max(1.0, cfg.huber_rel * person_px)
    return (
        bundle_adjust(fit.R, fit.t, X0[keep], obs[keep], K, huber, cfg.refine_focal),
        frames,
        int(keep.sum()),
    )


def calibrate_from_keypoints(
    kp: np.ndarray,
    conf: np.ndarray | None,
    left: Camera,
    right: Camera,
    cfg: SelfCalConfig = SelfCalConfig(),
) -> SelfCalResult:
    """Stereo rig from (N, 2, 17, 2) ideal pinhole pixels of one person (conf (N, 2, 17) or None).

    ``left`` and ``right`` give the intrinsics (K, image size, distortion kept for the output); their
    poses are ignored. The output rig has the left camera at the origin (mm).
    """
    kp = np.asarray(kp, np.float64)
    ok, usable, report = _screen(kp, conf, cfg)
    K = np.stack([left.K, right.K])
    person_px = _person_px(kp, ok)
    report.update(person_height_px=person_px, ransac_px=max(2.0, cfg.ransac_rel * person_px))
    fit = estimate_relative_pose(kp, ok, K, report["ransac_px"])
    report.update(
        joints_both_views=fit.candidates,
        ransac_inliers=int(fit.inliers.sum()),
        inlier_ratio=float(fit.inliers.sum() / max(fit.candidates, 1)),
        frames_lr_swapped=int(fit.flipped.sum()),
    )
    _check_inliers(report, cfg)
    ba, frames, n_obs = _adjust(fit, usable, K, cfg, person_px)
    K_ba = K.copy()
    K_ba[:, :2, :2] *= ba.focal_scale[:, None, None]
    ok_fixed = ok.copy()
    ok_fixed[fit.flipped, 1] = ok[fit.flipped, 1][:, _flip()]
    X_unit = _triangulate(fit.kp, ok_fixed, K_ba, ba.R, ba.t)
    report.update(frames_used=len(frames), observations_used=n_obs)
    report.update(_conditioning(ba, ba.X, person_px))
    height_unit = height_from_poses(X_unit)
    report["motion_rel"] = _motion(X_unit[frames], height_unit)
    _check(report, cfg)
    s = _scale(X_unit, cfg)
    report.update(scale_method=cfg.scale, person_height_mm=cfg.person_height_mm, baseline_mm=s)
    report["baseline_mm_by_method"] = {
        "height": scale_from_height(X_unit, cfg.person_height_mm),
        "bones": scale_from_bones(X_unit, cfg.person_height_mm),
    }
    rig = _make_rig(left, right, K_ba, ba.R, ba.t * s)
    report["R_right_from_left"] = ba.R.tolist()
    report["t_right_from_left_mm"] = (ba.t * s).tolist()
    report["focal_scale"] = ba.focal_scale.tolist()
    return SelfCalResult(rig, report, X_unit * s)


def _flip() -> np.ndarray:
    from binopose.skeleton import flip_permutation

    return flip_permutation()


def _scale(X_unit: np.ndarray, cfg: SelfCalConfig) -> float:
    if cfg.scale == "height":
        return scale_from_height(X_unit, cfg.person_height_mm)
    if cfg.scale == "bones":
        return scale_from_bones(X_unit, cfg.person_height_mm)
    raise BinoposeError(f"unknown scale method {cfg.scale!r} (expected 'height' or 'bones')")


def _make_rig(left: Camera, right: Camera, K: np.ndarray, R: np.ndarray, t_mm: np.ndarray) -> StereoRig:
    cam_l = replace(left, K=K[0], R=np.eye(3), t=np.zeros(3))
    cam_r = replace(right, K=K[1], R=R, t=t_mm)
    return StereoRig(cam_l, cam_r)
