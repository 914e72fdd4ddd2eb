"""Evaluate a method on a stereo benchmark file under a protocol.

A *method* is a callable ``method(bench, stats) -> (n, J, 3)`` poses in the left camera frame (mm):
``bench`` holds only the frames to predict (a method must not read their ground truth) and
``stats`` the 2D error statistics the protocol allows (or None). The methods here are :class:`Method`
objects, which also split into ``prepare`` (what a method fits on a fold: start level, shift, offsets,
reading the fold's frames a chunk at a time) and the returned per-chunk prediction, so that a file can
be evaluated a chunk at a time (:mod:`binopose.stream.evaluate`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from binopose.data.benchmark import Error2DStats, StereoBenchmark, protocol_folds
from binopose.data.noise import ErrorModel2D, fit_error_model, normalized_profile, pose_scale_px
from binopose.data.presets import PER_VIEW, STEREO, majority_family
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.methods import FoldFrames, Method, Predict, _light, _shifted, as_method
from binopose.metrics import pose_metrics, reprojection_errors
from binopose.offsets import apply_body_offsets, fit_body_offsets
from binopose.refiner import RefineOptions, Refiner
from binopose.skeleton import ROOT, root_from_hips
from binopose.stream.refine import GatedRefinement

BIAS_MODES = ("none", "mean", "root", "calibrated")


def default_bias(method: str, protocol: str) -> str:
    """The bias mode ``binopose eval`` uses unless told: ``mean``, except for the refiner under
    cross-subject, where it is ``root``. A refiner has learnt the biases of the detector whose pairs it
    trained on (subtracting them again corrects twice: Human3.6M SH, held-out S8, 50.9 mm against 35.8),
    and other subjects' per-joint biases need not transfer (MHAD, ``BENCHMARK.md``)."""
    return "root" if method == "dualdiff" and protocol == "cross-subject" else "mean"


def _input_2d(bench: StereoBenchmark, stats: Error2DStats | None, bias: str) -> np.ndarray:
    """The 2D input with the protocol-allowed bias removed (``bias``: none, mean = all joints, root;
    ``calibrated`` is :func:`with_calibrated_bias` around a method built with ``none``)."""
    kp = bench.kp2d_pred.astype(np.float64)
    if stats is None or bias == "none":
        return kp
    if bias == "mean":
        return kp - stats.mean_px
    if bias == "calibrated":
        raise BinoposeError("bias 'calibrated' wraps a method built with bias 'none' (with_calibrated_bias)")
    if bias == "root":
        out = kp.copy()
        out[:, :, ROOT] -= stats.mean_px[:, ROOT]
        return out
    raise BinoposeError(f"unknown bias mode {bias!r} (expected one of: {', '.join(BIAS_MODES)})")


ROOT_MODES = ("detected", "hips")


def triangulation_method(bias: str = "mean", root: str = "detected") -> Method:
    """Plain linear triangulation, after subtracting the 2D bias the protocol allows; ``root="hips"``
    takes the pelvis from the hips (:func:`binopose.skeleton.root_from_hips`) instead of the detector."""
    if root not in ROOT_MODES:
        raise BinoposeError(f"unknown root mode {root!r} (expected one of: {', '.join(ROOT_MODES)})")

    def prepare(frames: FoldFrames, stats: Error2DStats | None) -> Predict:
        stats = _light(stats)

        def predict(bench: StereoBenchmark) -> np.ndarray:
            kp = _input_2d(bench, stats, bias)
            kp = torch.from_numpy(root_from_hips(kp) if root == "hips" else kp)
            return triangulate(kp, bench.projection_matrices()).numpy()

        return predict

    return Method(prepare)


def noise_level(
    stats: Error2DStats, kp2d: np.ndarray | None, reference: ErrorModel2D, person: float | None = None
) -> float:
    """The diffusion noise level that matches the protocol's 2D error statistics.

    With (prediction, ground truth) pairs (cross-subject), an error model is fitted on them and the
    level is the size of its per-joint part over the reference model's (:meth:`ErrorModel2D.joint_rms`):
    a per-frame offset of the whole pose is no noise a pose prior can remove. With only a per-joint
    scale (official), which mixes both, it is that scale, relative to the person's size in the image,
    over the reference model's whole size (``person``: the mean size, when ``kp2d`` is not given)."""
    if stats.pred is not None:
        return fit_error_model(stats.pred, stats.gt).joint_rms() / reference.joint_rms()
    if person is None:
        person = float(pose_scale_px(torch.from_numpy(np.asarray(kp2d, np.float64))).mean())
    rms = float(np.sqrt(np.mean((np.asarray(stats.scale_px) / person) ** 2)))
    return rms / reference.rms()


def noise_profile(stats: Error2DStats) -> np.ndarray:
    """(17,) relative 2D error size per joint from the protocol's statistics (the error model fitted on
    the allowed pairs when there are any, else the per-joint scale)."""
    if stats.pred is not None:
        return fit_error_model(stats.pred, stats.gt).joint_profile()
    return normalized_profile(np.sqrt((np.asarray(stats.scale_px, np.float64) ** 2).mean((0, 2))))


#: start levels tried first by ``level="calibrated"`` (then refined between the best one's neighbours)
LEVEL_GRID = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3)
LEVEL_MODES = ("matched", "calibrated", "auto")


def calibrate_level(
    refiner: Refiner, frames: StereoBenchmark, kp2d: np.ndarray, options: RefineOptions | None = None
) -> float:
    """The start level with the lowest MPJPE on ``frames`` (other subjects' frames with ground truth,
    input ``kp2d`` prepared as the test input is: a validation split, never the test frames), of the
    network alone (definitions and gate come after it, :meth:`Refiner.refine`): the best of
    :data:`LEVEL_GRID`, then a golden-section search (log scale) between its two neighbours.
    ``options``: the refiner's options to vary the start level of (None: its own)."""
    options = options or refiner.options
    P = frames.projection_matrices()
    ok = np.isfinite(frames.kp3d_gt).all((1, 2))
    kp, P, gt = kp2d[ok], P[torch.from_numpy(ok)], frames.kp3d_gt[ok]

    def mpjpe(s: float) -> float:
        opts = replace(options, start_sigma=s)
        pred = refiner.network_pass(torch.from_numpy(kp), P, None, opts).numpy()
        return float(np.nanmean(np.linalg.norm(pred - gt, axis=-1)))

    errors = [mpjpe(s) for s in LEVEL_GRID]
    i = int(np.argmin(errors))
    lo, hi = np.log(LEVEL_GRID[max(i - 1, 0)]), np.log(LEVEL_GRID[min(i + 1, len(LEVEL_GRID) - 1)])
    best = (errors[i], LEVEL_GRID[i])
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = mpjpe(float(np.exp(a))), mpjpe(float(np.exp(b)))
    for _ in range(5):
        best = min(best, (fa, float(np.exp(a))), (fb, float(np.exp(b))))
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = mpjpe(float(np.exp(a)))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = mpjpe(float(np.exp(b)))
    return min(best, (fa, float(np.exp(a))), (fb, float(np.exp(b))))[1]


def dualdiff_inputs(
    refiner: Refiner,
    bench: StereoBenchmark,
    stats: Error2DStats | None,
    bias: str,
    match_noise: bool,
    level: str,
) -> tuple[np.ndarray, torch.Tensor, RefineOptions]:
    """What :func:`dualdiff_method` refines: the bias-corrected 2D input, the cameras, and the options
    (start level and noise profile from what the protocol allows)."""
    kp = _input_2d(bench, stats, bias)
    P = bench.projection_matrices()
    opts = refiner.options
    if stats is not None and match_noise:
        if refiner.conditioning.noise_profile:
            opts = replace(opts, noise_profile=tuple(noise_profile(stats)))
        kind = majority_family(refiner.looks_stereo(torch.from_numpy(kp), P))
        opts = replace(opts, start_sigma=noise_level(stats, kp, refiner.error_models[kind]))
    frames = None if stats is None else stats.frames
    can_calibrate = frames is not None and frames.kp3d_gt is not None
    if level == "calibrated" and not can_calibrate:
        raise BinoposeError("--level calibrated needs a protocol with other frames to fit on (cross-subject)")
    if match_noise and level != "matched" and can_calibrate:
        opts = replace(
            opts, start_sigma=calibrate_level(refiner, frames, _input_2d(frames, stats, bias), opts)
        )
    return kp, P, opts


def dualdiff_method(
    refiner: Refiner, bias: str = "mean", match_noise: bool = True, level: str = "matched"
) -> Method:
    """Dual-Diffusion refinement of the (bias-corrected) input; with ``match_noise`` the start level and
    the per-joint noise profile are set from the protocol's 2D error statistics (when it allows any).

    ``level``: ``matched`` sets the start level from the size of the allowed 2D errors
    (:func:`noise_level`); ``calibrated`` picks it from :data:`LEVEL_GRID` by the MPJPE on the frames the
    protocol allows fitting on (cross-subject: the other subjects; an error where there are none);
    ``auto`` calibrates where the protocol allows it and matches elsewhere."""
    if level not in LEVEL_MODES:
        raise BinoposeError(f"unknown level mode {level!r} (expected one of: {', '.join(LEVEL_MODES)})")

    def prepare(frames: FoldFrames, stats: Error2DStats | None) -> Predict:
        opts = refiner.options
        if stats is not None and match_noise:
            if refiner.conditioning.noise_profile:
                opts = replace(opts, noise_profile=tuple(noise_profile(stats)))
            stereo, person = _input_summary(refiner, frames, stats, bias)
            kind = STEREO if stereo > 0.5 else PER_VIEW  # majority_family over the whole fold
            opts = replace(opts, start_sigma=noise_level(stats, None, refiner.error_models[kind], person))
        fit = None if stats is None else stats.frames
        can_calibrate = fit is not None and fit.kp3d_gt is not None
        if level == "calibrated" and not can_calibrate:
            raise BinoposeError(
                "--level calibrated needs a protocol with other frames to fit on (cross-subject)"
            )
        if match_noise and level != "matched" and can_calibrate:
            opts = replace(opts, start_sigma=calibrate_level(refiner, fit, _input_2d(fit, stats, bias), opts))
        return _gated_predict(refiner, frames, _light(stats), bias, opts)

    return Method(prepare)


def _gated_predict(
    refiner: Refiner, frames: FoldFrames, light: Error2DStats | None, bias: str, opts: RefineOptions
) -> Predict:
    """The refiner's prediction of a fold's chunks, with the definitions' mean and the do-no-harm gate
    of the whole fold (one refine call's poses: :class:`binopose.stream.refine.GatedRefinement`), when
    the chunks start at multiples of the refiner's chunk (where it draws its hypotheses). The whole fold
    in one chunk is one plain refine call."""
    if opts.gate == "off" and opts.definitions == "model":  # nothing over the whole fold

        def predict(bench: StereoBenchmark) -> np.ndarray:
            kp = _input_2d(bench, light, bias)
            return refiner.refine(kp, bench.projection_matrices(), options=opts).poses.numpy()

        return predict

    def rows() -> Iterator[tuple[torch.Tensor, None, torch.Tensor]]:
        for _, b in frames.chunks():
            yield torch.from_numpy(_input_2d(b, light, bias)), None, b.projection_matrices()

    fitted: list[GatedRefinement] = []

    def predict_gated(bench: StereoBenchmark) -> np.ndarray:
        kp = _input_2d(bench, light, bias)
        if len(bench) == frames.n:  # the whole fold at once: one refine call (its passes sharded too)
            return refiner.refine(kp, bench.projection_matrices(), options=opts).poses.numpy()
        if not fitted:  # a part of it: the definitions and the gate fitted over the whole fold first
            fitted.append(GatedRefinement(refiner, rows, opts).fit())
        return fitted[0].apply(torch.from_numpy(kp), None, bench.projection_matrices()).numpy()

    return predict_gated


def _input_summary(
    refiner: Refiner, frames: FoldFrames, stats: Error2DStats, bias: str
) -> tuple[float, float]:
    """Over a fold's (bias-corrected) input: the share of poses that look stereo-aware, and the mean
    size of the person in the images (px), read a chunk at a time."""
    stereo, person = 0, 0.0
    for _, bench in frames.chunks():
        kp = torch.from_numpy(_input_2d(bench, stats, bias))
        stereo += int(refiner.looks_stereo(kp, bench.projection_matrices()).sum())
        person += float(pose_scale_px(kp).sum())
    return stereo / max(frames.n, 1), person / max(2 * frames.n, 1)


def with_body_offsets(method: Method) -> Method:
    """Add joint-definition offsets (body frame, :mod:`binopose.offsets`) fitted on the frames the
    protocol lets a method fit on (cross-subject: the other subjects), by running ``method`` there."""

    method = as_method(method)

    def prepare(frames: FoldFrames, stats: Error2DStats | None) -> Predict:
        if stats is None or stats.frames is None or stats.frames.kp3d_gt is None:
            raise BinoposeError(
                "body offsets need a protocol that allows fitting on other frames (cross-subject)"
            )
        offsets = fit_body_offsets(method(stats.frames.blind(), stats), stats.frames.kp3d_gt)
        inner = method.prepare(frames, stats)
        return lambda bench: apply_body_offsets(inner(bench), offsets)

    return Method(prepare)


#: frames (at most) that :func:`with_calibrated_bias` fits its shift on; a mean needs few
CALIBRATION_FRAMES = 8192


def _spread(total: int, n: int) -> np.ndarray:
    """``n`` positions spread evenly over ``total`` (all of them when there are no more)."""
    return np.arange(total) if total <= n else np.linspace(0, total - 1, n).round().astype(int)


def _spread_subset(bench: StereoBenchmark, n: int) -> StereoBenchmark:
    return bench if len(bench) <= n else bench.subset(_spread(len(bench), n))


def with_calibrated_bias(method: Method, iterations: int = 3) -> Method:
    """``method`` (built with bias ``none``) on the 2D input shifted by the vector c (per view, joint and
    axis) for which its outputs, reprojected, have no mean 2D error on the frames the protocol allows
    fitting on: the other subjects' frames against their ground-truth 2D (cross-subject), or the test
    inputs against their mean minus the protocol's mean error (official).

    Subtracting the protocol's mean error (``bias="mean"``) corrects it twice when a model has learnt
    that detector's bias, and leaves in the systematic errors a prior adds (its training data's joint
    definitions); c accounts for both. It starts at the mean error and takes ``iterations`` fixed-point
    steps, each one run of ``method`` on up to :data:`CALIBRATION_FRAMES` of those frames."""

    method = as_method(method)

    def prepare(frames: FoldFrames, stats: Error2DStats | None) -> Predict:
        if stats is None:
            raise BinoposeError(
                "--bias calibrated needs a protocol with 2D error statistics (official, cross-subject)"
            )
        if stats.frames is not None and stats.frames.kp2d_gt is not None:
            known = _spread_subset(stats.frames, CALIBRATION_FRAMES)  # other subjects, with ground truth
            fit, target = known.blind(), np.nanmean(known.kp2d_gt.astype(np.float64), 0)
        else:
            known = None
            fit = frames.gather(_spread(frames.n, CALIBRATION_FRAMES))
            target = np.nanmean(fit.kp2d_pred.astype(np.float64), 0) - stats.mean_px
        P = fit.projection_matrices()

        def inner_stats(shift: np.ndarray, others: StereoBenchmark | None) -> Error2DStats:
            # the method's own fitting (a calibrated start level) sees the other frames shifted alike
            return stats if others is None else replace(stats, frames=_shifted(others, shift))

        shift = np.asarray(stats.mean_px, np.float64).copy()
        for _ in range(iterations):
            out = np.asarray(method(_shifted(fit, shift), inner_stats(shift, known)), np.float64)
            uv = project(torch.from_numpy(out), P).numpy()
            shift = shift + (np.nanmean(uv, 0) - target)
        inner = method.prepare(frames.shifted(shift), inner_stats(shift, stats.frames))
        return lambda bench: np.asarray(inner(_shifted(bench, shift)), np.float64)

    return Method(prepare)


def evaluate(
    bench: StereoBenchmark,
    method: Method,
    protocol: str,
    name: str = "method",
    subjects: tuple[str, ...] | None = None,
) -> tuple[dict, np.ndarray]:
    """Run ``method`` on every fold of ``protocol`` and score it against the file's 3D ground truth.

    ``subjects``: score only these subjects' frames (the protocol still fits on the frames it allows:
    under cross-subject, the other subjects' frames, all of them). The labels choose what is scored,
    never a method's input.

    Returns the metrics dict (see :func:`binopose.metrics.pose_metrics`, plus ``method``, ``protocol``,
    ``counts``, ``reprojection_px``, ``input_2d_px``, ``folds``) and the (N, J, 3) predictions in file
    order (NaN in frames not scored)."""
    if bench.kp3d_gt is None:
        raise BinoposeError(f"benchmark file {bench.path} has no 'kp3d_gt': nothing to evaluate against")
    folds = scored_folds(protocol_folds(bench, protocol), bench.subject, subjects, bench.path)
    scored = np.sort(np.concatenate([f.test_index for f in folds]))
    pred_all = np.full((len(bench),) + bench.kp3d_gt.shape[1:], np.nan)
    bench = _scored(bench, scored)
    folds = [replace(f, test_index=np.searchsorted(scored, f.test_index)) for f in folds]
    pred = np.full((len(bench),) + bench.kp3d_gt.shape[1:], np.nan)
    for fold in folds:
        test = bench.subset(fold.test_index)
        out = np.asarray(method(test.blind(), fold.stats), dtype=np.float64)
        if out.shape != (len(fold.test_index),) + bench.kp3d_gt.shape[1:]:
            raise RuntimeError(f"method returned shape {out.shape} for {len(fold.test_index)} frames")
        pred[fold.test_index] = out
    pred_all[scored] = pred
    result = {"method": name, "protocol": protocol, "file": bench.path}
    result.update(pose_metrics(pred, bench.kp3d_gt, bench.subject, bench.action))
    if result["coverage"] < 1:  # also score every missing joint as raw triangulation would place it
        tri = triangulate(
            torch.from_numpy(bench.kp2d_pred.astype(np.float64)), bench.projection_matrices()
        ).numpy()
        filled = pose_metrics(np.where(np.isfinite(pred), pred, tri), bench.kp3d_gt)
        result["missing_as_triangulated"] = {
            k: filled[k] for k in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm")
        }
    result["counts"] = {
        "per_subject": {s: int((bench.subject == s).sum()) for s in result["per_subject"]},
        "per_action": {a: int((bench.action == a).sum()) for a in result["per_action"]},
    }
    if bench.kp2d_gt is not None:
        uv = project(torch.from_numpy(np.nan_to_num(pred)), bench.projection_matrices()).numpy()
        uv[~np.isfinite(pred).all(-1)[:, None].repeat(2, 1)] = np.nan
        result["reprojection_px"] = reprojection_errors(uv, bench.kp2d_gt)
        result["input_2d_px"] = reprojection_errors(bench.kp2d_pred, bench.kp2d_gt)  # the detector's
    result["folds"] = [
        {"name": f.name, "frames": len(f.test_index), "stats": f.stats and f.stats.source} for f in folds
    ]
    if subjects is not None:
        result["subjects"] = list(subjects)
    return result, pred_all


def scored_folds(folds: list, labels: np.ndarray, subjects: tuple[str, ...] | None, path: object) -> list:
    """``folds`` with their test frames cut to ``subjects`` (None: all), the emptied folds dropped; a
    subject the file does not have is refused."""
    if subjects is None:
        return folds
    missing = sorted(set(subjects) - set(labels.tolist()))
    if missing:
        raise BinoposeError(f"benchmark file {path} has no subject {', '.join(missing)} (--subjects)")
    keep = np.isin(labels, list(subjects))
    cut = [replace(f, test_index=f.test_index[keep[f.test_index]]) for f in folds]
    return [f for f in cut if len(f.test_index)]


def _scored(bench: StereoBenchmark, rows: np.ndarray) -> StereoBenchmark:
    """The benchmark's scored rows in file order (the whole benchmark when every row is scored)."""
    return bench if len(rows) == len(bench) else bench.subset(rows)
