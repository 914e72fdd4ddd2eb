"""Evaluate a method on a stereo benchmark file under a protocol.

A *method* is a callable ``method(bench, stats) -> (n, J, 3)`` poses in the left camera frame (mm):
``bench`` holds only the frames to predict (a method must not read their ground truth) and
``stats`` the 2D error statistics the protocol allows (or None).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from binopose.data.benchmark import Error2DStats, StereoBenchmark, protocol_folds
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.metrics import pose_metrics, reprojection_errors
from binopose.skeleton import ROOT

Method = Callable[[StereoBenchmark, "Error2DStats | None"], np.ndarray]

BIAS_MODES = ("none", "mean", "root")


def _input_2d(bench: StereoBenchmark, stats: Error2DStats | None, bias: str) -> np.ndarray:
    """The 2D input with the protocol-allowed bias removed (``bias``: none, mean = all joints, root)."""
    kp = bench.kp2d_pred.astype(np.float64)
    if stats is None or bias == "none":
        return kp
    if bias == "mean":
        return kp - stats.mean_px
    if bias == "root":
        out = kp.copy()
        out[:, :, ROOT] -= stats.mean_px[:, ROOT]
        return out
    raise BinoposeError(f"unknown bias mode {bias!r} (expected one of: {', '.join(BIAS_MODES)})")


def triangulation_method(bias: str = "mean") -> Method:
    """Plain linear triangulation, after subtracting the 2D bias the protocol allows."""

    def method(bench: StereoBenchmark, stats: Error2DStats | None) -> np.ndarray:
        import torch

        kp = torch.from_numpy(_input_2d(bench, stats, bias))
        return triangulate(kp, bench.projection_matrices()).numpy()

    return method


def evaluate(bench: StereoBenchmark, method: Method, protocol: str, name: str = "method") -> dict:
    """Run ``method`` on every fold of ``protocol`` and score it against the file's 3D ground truth."""
    if bench.kp3d_gt is None:
        raise BinoposeError(f"benchmark file {bench.path} has no 'kp3d_gt': nothing to evaluate against")
    folds = protocol_folds(bench, protocol)
    pred = np.full((len(bench),) + bench.kp3d_gt.shape[1:], np.nan)
    for fold in folds:
        test = bench.subset(fold.test_index)
        blind = test.__class__(**{**test.__dict__, "kp3d_gt": None, "kp2d_gt": None})
        out = np.asarray(method(blind, fold.stats), dtype=np.float64)
        if out.shape != (len(fold.test_index),) + bench.kp3d_gt.shape[1:]:
            raise RuntimeError(f"method returned shape {out.shape} for {len(fold.test_index)} frames")
        pred[fold.test_index] = out
    result = {"method": name, "protocol": protocol, "file": bench.path}
    result.update(pose_metrics(pred, bench.kp3d_gt, bench.subject, bench.action))
    result["counts"] = {
        "per_subject": {s: int((bench.subject == s).sum()) for s in result["per_subject"]},
        "per_action": {a: int((bench.action == a).sum()) for a in result["per_action"]},
    }
    if bench.kp2d_gt is not None:
        import torch

        uv = project(torch.from_numpy(np.nan_to_num(pred)), bench.projection_matrices()).numpy()
        uv[~np.isfinite(pred).all(-1)[:, None].repeat(2, 1)] = np.nan
        result["reprojection_px"] = reprojection_errors(uv, bench.kp2d_gt)
    result["folds"] = [{"name": f.name, "frames": len(f.test_index), "stats": f.stats and f.stats.source} for f in folds]
    return result, pred
