"""Pose metrics (numpy, float64, millimetres): MPJPE family, bone-length and symmetry errors, tables.

Shapes: poses are (N, J, 3); per-joint errors (N, J). A NaN joint in a prediction is left out of
the means and counted in ``nan_joints`` (so a method that fails on a joint is never silently scored).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from binopose.skeleton import BONES, ROOT, SYMMETRIC_BONES


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) Euclidean distance per joint."""
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)


def root_relative(X: np.ndarray, root: int = ROOT) -> np.ndarray:
    """Subtract the root joint: (N, J, 3) -> (N, J, 3)."""
    X = np.asarray(X, np.float64)
    return X - X[..., root : root + 1, :]


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity-align each predicted pose to its ground truth (rotation, scale, translation).

    Args:
        pred, gt: (N, J, 3). Returns: (N, J, 3) aligned prediction (NaN rows stay NaN).
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    mu_p, mu_g = pred.mean(-2, keepdims=True), gt.mean(-2, keepdims=True)
    p, g = pred - mu_p, gt - mu_g
    H = np.swapaxes(p, -1, -2) @ g  # (N, 3, 3)
    ok = np.isfinite(H).all((-1, -2))
    H = np.where(ok[:, None, None], H, np.eye(3))
    U, S, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.swapaxes(Vt, -1, -2) @ np.swapaxes(U, -1, -2)))
    D = np.ones_like(S)
    D[:, -1] = d
    R = np.swapaxes(Vt, -1, -2) @ (D[:, :, None] * np.swapaxes(U, -1, -2))  # maps p -> g: g ~ s R p
    scale = (S * D).sum(-1) / np.maximum((p**2).sum((-1, -2)), 1e-12)
    aligned = scale[:, None, None] * p @ np.swapaxes(R, -1, -2) + mu_g
    return np.where(ok[:, None, None], aligned, np.nan)


def bone_lengths(X: np.ndarray) -> np.ndarray:
    """(N, J, 3) -> (N, 16) lengths of ``skeleton.BONES``."""
    X = np.asarray(X, np.float64)
    c, p = np.array(BONES).T
    return np.linalg.norm(X[..., c, :] - X[..., p, :], axis=-1)


def bone_length_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute bone-length difference (mm)."""
    return _mean(np.abs(bone_lengths(pred) - bone_lengths(gt)))


def symmetry_error(X: np.ndarray) -> float:
    """Mean absolute length difference between mirrored left/right bones of the poses (mm)."""
    L = bone_lengths(X)
    r, l = np.array(SYMMETRIC_BONES).T
    return _mean(np.abs(L[:, r] - L[:, l]))


def _mean(a: np.ndarray) -> float:
    return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")


def _grouped(err: np.ndarray, labels: np.ndarray | None) -> dict[str, float]:
    if labels is None:
        return {}
    labels = np.asarray(labels).astype(str)
    return {str(k): _mean(err[labels == k]) for k in sorted(set(labels.tolist()))}


def pose_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    subject: Sequence[str] | np.ndarray | None = None,
    action: Sequence[str] | np.ndarray | None = None,
) -> dict:
    """All 3D metrics of ``pred`` against ``gt`` (N, J, 3), in mm.

    Returns a dict with ``frames``, ``mpjpe_mm``, ``mpjpe_rel_mm``, ``pa_mpjpe_mm``, ``per_joint_mm``,
    ``per_subject`` and ``per_action`` (each ``{label: {"mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm"}}``),
    ``bone_length_error_mm``, ``symmetry_error_mm`` (prediction), ``nan_joints`` and ``coverage`` (the
    share of ground-truth joints the prediction gives: a method that gives up on hard joints is seen).
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pose_metrics: pred and gt must both be (N, J, 3), got {pred.shape} and {gt.shape}")
    e_abs = joint_errors(pred, gt)
    e_rel = joint_errors(root_relative(pred), root_relative(gt))
    e_pa = joint_errors(procrustes_align(root_relative(pred), root_relative(gt)), root_relative(gt))
    kinds = {"mpjpe_mm": e_abs, "mpjpe_rel_mm": e_rel, "pa_mpjpe_mm": e_pa}
    out: dict = {"frames": int(pred.shape[0])}
    out.update({k: _mean(v) for k, v in kinds.items()})
    out["per_joint_mm"] = [_mean(e_abs[:, j]) for j in range(pred.shape[1])]
    out["per_joint_rel_mm"] = [_mean(e_rel[:, j]) for j in range(pred.shape[1])]
    for name, labels in (("per_subject", subject), ("per_action", action)):
        per = {k: _grouped(v, labels) for k, v in kinds.items()}  # over (frame, joint), as overall
        out[name] = {lab: {k: per[k][lab] for k in kinds} for lab in next(iter(per.values()))}
    out["bone_length_error_mm"] = bone_length_error(pred, gt)
    out["symmetry_error_mm"] = symmetry_error(pred)
    out["nan_joints"] = int((~np.isfinite(pred).all(-1)).sum())
    known = np.isfinite(gt).all(-1)
    out["coverage"] = float((np.isfinite(pred).all(-1) & known).sum() / max(1, known.sum()))
    return out


def reprojection_errors(uv_pred: np.ndarray, uv_gt: np.ndarray) -> list[float]:
    """Mean 2D distance per view (px) between (N, V, J, 2) reprojections and 2D ground truth."""
    e = np.linalg.norm(np.asarray(uv_pred, np.float64) - np.asarray(uv_gt, np.float64), axis=-1)
    return [_mean(e[:, v]) for v in range(e.shape[1])]


def format_table(result: dict) -> str:
    """A readable text table of :func:`pose_metrics` output (overall, per subject, per action)."""
    head = f"{'':<24}{'frames':>8}{'MPJPE':>10}{'MPJPE-rel':>11}{'PA-MPJPE':>10}"
    lines = [head, "-" * len(head)]

    def row(label: str, n: int | str, m: dict) -> str:
        return f"{label:<24}{n!s:>8}{m['mpjpe_mm']:>10.2f}{m['mpjpe_rel_mm']:>11.2f}{m['pa_mpjpe_mm']:>10.2f}"

    lines.append(row("overall", result["frames"], result))
    counts = result.get("counts", {})
    for group in ("per_subject", "per_action"):
        if result.get(group):
            lines.append(f"{group.replace('_', ' ')}:")
            for lab, m in result[group].items():
                lines.append(row(f"  {lab}", counts.get(group, {}).get(lab, ""), m))
    extra = [
        f"bone-length error {result['bone_length_error_mm']:.2f} mm",
        f"symmetry error {result['symmetry_error_mm']:.2f} mm",
    ]
    if "reprojection_px" in result:
        views = lambda key: " / ".join(f"{x:.2f}" for x in result[key])  # noqa: E731
        text = f"2D reprojection {views('reprojection_px')} px (per view)"
        if "input_2d_px" in result:
            text += f", the detector's 2D {views('input_2d_px')} px"
        extra.append(text)
    if result.get("nan_joints"):
        extra.append(
            f"WARNING: {result['nan_joints']} joints could not be estimated (NaN) and are left out "
            f"(coverage {result.get('coverage', float('nan')):.4f})"
        )
        filled = result.get("missing_as_triangulated")
        if filled:
            extra.append(
                "with those joints as raw triangulation places them: "
                + " / ".join(f"{filled[k]:.2f}" for k in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm"))
            )
    return "\n".join(lines + extra)
