"""The metrics of :func:`binopose.metrics.pose_metrics` as running sums: add chunks of predictions,
read the means at the end (equal to the whole-array means up to the order of summation)."""

from __future__ import annotations

import numpy as np

from binopose.metrics import bone_lengths, joint_errors, procrustes_align, root_relative
from binopose.skeleton import SYMMETRIC_BONES

KINDS = ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm")


class _Sum:
    """Sum and count of the finite values, per leading index (or in all)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.s, self.n = np.zeros(shape), np.zeros(shape, np.int64)

    def add(self, a: np.ndarray, axis: tuple[int, ...] | None = None) -> None:
        ok = np.isfinite(a)
        self.s += np.where(ok, a, 0.0).sum(axis)
        self.n += ok.sum(axis)

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.s / np.maximum(self.n, 1), np.nan)


def _errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "mpjpe_mm": joint_errors(pred, gt),
        "mpjpe_rel_mm": joint_errors(root_relative(pred), root_relative(gt)),
        "pa_mpjpe_mm": joint_errors(procrustes_align(root_relative(pred), root_relative(gt)), root_relative(gt)),
    }


class MetricSums:
    def __init__(self, joints: int) -> None:
        self.frames, self.nan_joints = 0, 0
        self.all = {k: _Sum() for k in KINDS}
        self.joint = {k: _Sum((joints,)) for k in ("mpjpe_mm", "mpjpe_rel_mm")}
        self.groups: dict[str, dict[str, dict[str, _Sum]]] = {"per_subject": {}, "per_action": {}}
        self.bones, self.symmetry = _Sum(), _Sum()
        self.reprojection: _Sum | None = None
        self.input_2d: _Sum | None = None
        self.filled = {k: _Sum() for k in KINDS}
        self.hit, self.known = 0, 0

    def add(
        self,
        pred: np.ndarray,
        gt: np.ndarray,
        subject: np.ndarray,
        action: np.ndarray,
        fill: np.ndarray | None = None,
    ) -> None:
        """A chunk of predictions; ``fill``: where they have a missing joint, what takes its place in
        ``missing_as_triangulated`` (:func:`binopose.evaluate.evaluate`)."""
        pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
        e = _errors(pred, gt)
        ef = e if fill is None else _errors(np.where(np.isfinite(pred), pred, fill), gt)
        for k in KINDS:
            self.filled[k].add(ef[k])
        known = np.isfinite(gt).all(-1)
        self.known += int(known.sum())
        self.hit += int((np.isfinite(pred).all(-1) & known).sum())
        self.frames += len(pred)
        for k in KINDS:
            self.all[k].add(e[k])
        for k in self.joint:
            self.joint[k].add(e[k], axis=(0,))
        for name, labels in (("per_subject", subject), ("per_action", action)):
            labels = np.asarray(labels).astype(str)
            for lab in set(labels.tolist()):
                sums = self.groups[name].setdefault(lab, {k: _Sum() for k in KINDS})
                m = labels == lab
                for k in KINDS:
                    sums[k].add(e[k][m])
        self.bones.add(np.abs(bone_lengths(pred) - bone_lengths(gt)))
        L = bone_lengths(pred)
        r, l = np.array(SYMMETRIC_BONES).T
        self.symmetry.add(np.abs(L[:, r] - L[:, l]))
        self.nan_joints += int((~np.isfinite(pred).all(-1)).sum())

    def add_reprojection(self, uv: np.ndarray, uv_gt: np.ndarray, detector: np.ndarray) -> None:
        """(n, V, J, 2) reprojections, 2D ground truth, and the detector's own 2D (``input_2d_px``)."""
        for name, a in (("reprojection", uv), ("input_2d", detector)):
            e = np.linalg.norm(np.asarray(a, np.float64) - np.asarray(uv_gt, np.float64), axis=-1)
            if getattr(self, name) is None:
                setattr(self, name, _Sum((e.shape[1],)))
            getattr(self, name).add(e, axis=(0, 2))

    def result(self) -> dict:
        """What :func:`binopose.metrics.pose_metrics` returns, in the same order."""
        f = lambda x: float(x)  # noqa: E731
        out: dict = {"frames": self.frames}
        out.update({k: f(self.all[k].mean()) for k in KINDS})
        out["per_joint_mm"] = [f(v) for v in self.joint["mpjpe_mm"].mean()]
        out["per_joint_rel_mm"] = [f(v) for v in self.joint["mpjpe_rel_mm"].mean()]
        for name, groups in self.groups.items():
            out[name] = {lab: {k: f(groups[lab][k].mean()) for k in KINDS} for lab in sorted(groups)}
        out["bone_length_error_mm"] = f(self.bones.mean())
        out["symmetry_error_mm"] = f(self.symmetry.mean())
        out["nan_joints"] = self.nan_joints
        out["coverage"] = float(self.hit / max(1, self.known))
        return out

    def filled_result(self) -> dict:
        """The means with every missing joint filled (``missing_as_triangulated``)."""
        return {k: float(self.filled[k].mean()) for k in KINDS}
