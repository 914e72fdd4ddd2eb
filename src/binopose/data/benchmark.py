"""The ``*_stereo_test.npz`` benchmark format, and the evaluation protocols, in one place.

Protocols (``BENCHMARK.md``):

- ``raw``: a method sees the 2D prediction and the cameras, nothing else.
- ``official``: it may subtract the file's ``pred2d_err_mean_px`` and use ``pred2d_err_scale_px``
  as its 2D noise scale (test-set statistics: never a headline number).
- ``cross-subject``: for each test subject, 2D error statistics may be fitted only on the frames of
  the *other* subjects of the file.

Labels (``subject``, ``action``) are only used to split folds and tables, never handed to a method.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.io_utils import read_npz
from binopose.skeleton import NUM_JOINTS

PROTOCOLS = ("raw", "official", "cross-subject")

_REQUIRED = {
    "kp2d_pred": (None, 2, NUM_JOINTS, 2),
    "K": (None, 2, 3, 3),
    "R_right_from_left": (None, 3, 3),
    "t_right_from_left_mm": (None, 3),
}
_OPTIONAL = {
    "kp2d_gt": (None, 2, NUM_JOINTS, 2),
    "kp3d_gt": (None, NUM_JOINTS, 3),
    "baseline_mm": (None,),
    "pred2d_err_mean_px": (2, NUM_JOINTS, 2),
    "pred2d_err_scale_px": (2, NUM_JOINTS, 2),
}


@dataclass(frozen=True)
class Error2DStats:
    """Per-view, per-joint, per-axis 2D error statistics (px): what a protocol lets a method know."""

    mean_px: np.ndarray  # (2, J, 2)
    scale_px: np.ndarray  # (2, J, 2)
    source: str  # "official (test-set)" or "frames of ..."
    pred: np.ndarray | None = None  # (n, 2, J, 2) the (prediction, ground truth) pairs they came from
    gt: np.ndarray | None = None
    frames: StereoBenchmark | None = None  # the frames they came from (other subjects), with ground truth


@dataclass(frozen=True)
class StereoBenchmark:
    """A loaded ``*_stereo_test.npz`` file (arrays as in ``BENCHMARK.md``)."""

    path: str
    kp2d_pred: np.ndarray
    K: np.ndarray
    R_right_from_left: np.ndarray
    t_right_from_left_mm: np.ndarray
    baseline_mm: np.ndarray
    kp2d_gt: np.ndarray | None
    kp3d_gt: np.ndarray | None
    subject: np.ndarray
    action: np.ndarray
    pred2d_err_mean_px: np.ndarray | None
    pred2d_err_scale_px: np.ndarray | None

    def __len__(self) -> int:
        return int(self.kp2d_pred.shape[0])

    def projection_matrices(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """(N, 2, 3, 4): ``P_left = K0 [I | 0]``, ``P_right = K1 [R | t]`` (left camera frame, mm)."""
        n = len(self)
        Rt_left = np.concatenate([np.broadcast_to(np.eye(3), (n, 3, 3)), np.zeros((n, 3, 1))], axis=2)
        Rt_right = np.concatenate([self.R_right_from_left, self.t_right_from_left_mm[:, :, None]], axis=2)
        K = self.K.astype(np.float64)
        P = np.stack([K[:, 0] @ Rt_left, K[:, 1] @ Rt_right], axis=1)
        return torch.tensor(P, dtype=dtype)

    def blind(self) -> StereoBenchmark:
        """The same frames as a method may see them: no ground truth, no whole-file 2D error statistics
        (a protocol passes what it allows separately) and no labels (subject and action read "?")."""
        unknown = np.full(len(self), "?")
        return replace(
            self,
            kp2d_gt=None,
            kp3d_gt=None,
            pred2d_err_mean_px=None,
            pred2d_err_scale_px=None,
            subject=unknown,
            action=unknown,
        )

    def subset(self, index: np.ndarray) -> StereoBenchmark:
        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return StereoBenchmark(
            path=self.path,
            kp2d_pred=self.kp2d_pred[index],
            K=self.K[index],
            R_right_from_left=self.R_right_from_left[index],
            t_right_from_left_mm=self.t_right_from_left_mm[index],
            baseline_mm=self.baseline_mm[index],
            kp2d_gt=take(self.kp2d_gt),
            kp3d_gt=take(self.kp3d_gt),
            subject=self.subject[index],
            action=self.action[index],
            pred2d_err_mean_px=self.pred2d_err_mean_px,
            pred2d_err_scale_px=self.pred2d_err_scale_px,
        )


def _check_shape(name: str, shape: tuple, dtype: np.dtype, want: tuple, n: int | None) -> None:
    want = tuple(n if w is None else w for w in want)
    if tuple(shape) != want:
        shape_s = (
            "("
            + ", ".join("N" if w is None else str(w) for w in _REQUIRED.get(name, _OPTIONAL.get(name)))
            + ")"
        )
        raise BinoposeError(f"benchmark file: {name!r} has shape {tuple(shape)}, expected {shape_s}")
    if dtype.kind not in "fiu":
        raise BinoposeError(f"benchmark file: {name!r} has dtype {dtype}, expected numbers")


#: the members a method or a protocol reads, one row per frame
ROW_MEMBERS = (*_REQUIRED, "kp2d_gt", "kp3d_gt", "baseline_mm", "subject", "action")


def check_members(shapes: dict[str, tuple], dtypes: dict[str, np.dtype], p: Path) -> int:
    """Check the members' shapes and dtypes (from arrays, or from ``.npy`` headers); returns N."""
    missing = [k for k in _REQUIRED if k not in shapes]
    if missing:
        raise BinoposeError(f"benchmark file {p} lacks required array(s): {', '.join(missing)}")
    n = shapes["kp2d_pred"][0] if shapes["kp2d_pred"] else -1
    if n <= 0:
        raise BinoposeError(f"benchmark file {p} has no frames")
    for k, want in {**_REQUIRED, **_OPTIONAL}.items():
        if k in shapes:
            _check_shape(k, shapes[k], dtypes[k], want, n)
    for k in ("subject", "action"):
        if k in shapes and tuple(shapes[k]) != (n,):
            raise BinoposeError(f"benchmark file {p}: {k!r} has shape {shapes[k]}, expected (N,) = ({n},)")
    return n


def load_benchmark(path: str | os.PathLike) -> StereoBenchmark:
    """Read and validate a ``*_stereo_test.npz`` file (raises :class:`BinoposeError` on any problem)."""
    p = Path(path)
    data = read_npz(p, "benchmark file")
    data = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}  # members that are not .npy
    n = check_members({k: v.shape for k, v in data.items()}, {k: v.dtype for k, v in data.items()}, p)
    refuse_bad_truth(bad_truth(data), n, p)
    return from_arrays(data, p)


def bad_truth(data: dict[str, np.ndarray]) -> dict[str, int]:
    """Frames whose ground truth (kp3d_gt, kp2d_gt) has a NaN or infinite number, per member."""
    n = len(data["kp2d_pred"])
    return {
        k: int((~np.isfinite(data[k]).reshape(n, -1)).any(1).sum()) for k in ("kp3d_gt", "kp2d_gt") if k in data
    }


def refuse_bad_truth(bad: dict[str, int], n: int, p: Path) -> None:
    """NaN ground truth would drop frames from the means silently: refused (``bad``: :func:`bad_truth`,
    summed over a file's chunks)."""
    for k, count in bad.items():
        if count:
            raise BinoposeError(
                f"benchmark file {p}: {k!r} is NaN or infinite in {count} of {n} frame(s); ground truth must "
                "be complete (remove those frames from the file)"
            )


def from_arrays(data: dict[str, np.ndarray], p: Path) -> StereoBenchmark:
    """A :class:`StereoBenchmark` of checked members (all frames, or a chunk of them): cameras are
    checked here (finite, K upper triangular, R a rotation, a baseline)."""
    n = data["kp2d_pred"].shape[0]
    K = data["K"].astype(np.float64)
    finite_K = np.isfinite(K).all((-1, -2))  # (N, 2)
    singular = np.abs(np.linalg.det(np.where(finite_K[..., None, None], K, np.eye(3)))) < 1e-9
    if not finite_K.all() or singular.any():
        bad = int((~finite_K | singular).any(-1).sum())
        raise BinoposeError(
            f"benchmark file {p}: {bad} frame(s) have a non-finite or singular camera matrix K"
        )
    lower = np.abs(K[..., 2, :] - [0, 0, 1]).max(-1) + np.abs(K[..., 1, 0])  # (N, 2)
    if (lower > 1e-6).any():
        raise BinoposeError(
            f"benchmark file {p}: K of {int((lower > 1e-6).any(-1).sum())} frame(s) is not upper triangular "
            "with a last row [0, 0, 1]"
        )
    R = data["R_right_from_left"].astype(np.float64)
    t = data["t_right_from_left_mm"].astype(np.float64)
    if not (np.isfinite(R).all() and np.isfinite(t).all()):
        raise BinoposeError(f"benchmark file {p}: non-finite stereo extrinsics")
    not_rotation = (np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max((-1, -2)) > 1e-3) | (
        np.linalg.det(R) < 0
    )
    if not_rotation.any():
        raise BinoposeError(
            f"benchmark file {p}: R_right_from_left of {int(not_rotation.sum())} frame(s) is not a rotation matrix"
        )
    baseline = np.linalg.norm(-np.swapaxes(R, -1, -2) @ t[..., None], axis=(-1, -2))
    if (baseline < 1e-6).any():
        raise BinoposeError(
            f"benchmark file {p}: {int((baseline < 1e-6).sum())} frame(s) have a zero stereo baseline"
        )
    labels = {k: data[k].astype(str) if k in data else np.full(n, "all") for k in ("subject", "action")}
    return StereoBenchmark(
        path=str(p),
        kp2d_pred=data["kp2d_pred"].astype(np.float32),
        K=K,
        R_right_from_left=R,
        t_right_from_left_mm=t,
        baseline_mm=data["baseline_mm"].astype(np.float64) if "baseline_mm" in data else baseline,
        kp2d_gt=data["kp2d_gt"].astype(np.float32) if "kp2d_gt" in data else None,
        kp3d_gt=data["kp3d_gt"].astype(np.float64) if "kp3d_gt" in data else None,
        subject=labels["subject"],
        action=labels["action"],
        pred2d_err_mean_px=data.get("pred2d_err_mean_px"),
        pred2d_err_scale_px=data.get("pred2d_err_scale_px"),
    )


@dataclass(frozen=True)
class Fold:
    """Frames to predict, and the 2D error statistics the protocol allows for them (or None)."""

    name: str
    test_index: np.ndarray
    stats: Error2DStats | None


def fit_error_stats(bench: StereoBenchmark, index: np.ndarray, source: str) -> Error2DStats:
    """Mean / std of ``kp2d_pred - kp2d_gt`` over the given frames (needs 2D ground truth)."""
    if bench.kp2d_gt is None:
        raise BinoposeError(f"benchmark file {bench.path} has no 'kp2d_gt': cannot fit 2D error statistics")
    pred, gt = bench.kp2d_pred[index].astype(np.float64), bench.kp2d_gt[index].astype(np.float64)
    err = pred - gt
    return Error2DStats(err.mean(0), err.std(0), source, pred, gt, bench.subset(index))


def protocol_folds(bench: StereoBenchmark, protocol: str) -> list[Fold]:
    """Split a benchmark into folds under a protocol (the only place protocol rules live)."""
    everything = np.arange(len(bench))
    if protocol == "raw":
        return [Fold("all", everything, None)]
    if protocol == "official":
        if bench.pred2d_err_mean_px is None or bench.pred2d_err_scale_px is None:
            raise BinoposeError(
                f"benchmark file {bench.path} has no pred2d_err_mean_px / pred2d_err_scale_px: protocol 'official' needs them"
            )
        stats = Error2DStats(
            bench.pred2d_err_mean_px.astype(np.float64),
            bench.pred2d_err_scale_px.astype(np.float64),
            "official (test-set 2D statistics)",
        )
        return [Fold("all", everything, stats)]
    if protocol == "cross-subject":
        subjects = sorted(set(bench.subject.tolist()))
        if len(subjects) < 2:
            raise BinoposeError(
                f"benchmark file {bench.path}: protocol 'cross-subject' needs at least 2 subjects"
            )
        folds = []
        for s in subjects:
            others = np.flatnonzero(bench.subject != s)
            stats = fit_error_stats(bench, others, "frames of " + ", ".join(x for x in subjects if x != s))
            folds.append(Fold(s, np.flatnonzero(bench.subject == s), stats))
        return folds
    raise BinoposeError(f"unknown protocol {protocol!r} (expected one of: {', '.join(PROTOCOLS)})")
