"""The families of 2D error models a default refiner is trained on.

- ``per-view``: one detector run per image (independent errors per view, heavy tails, left/right
  swaps), fitted on real (prediction, ground truth) pairs of a development set (never a test set),
  bias removed (biases are detector-specific and handled apart).
- ``stereo``: a stereo-aware detector (the views move together, v identical in both views, a small
  disparity term, a per-frame offset), shaped after the per-joint profile of the per-view model and
  sized after the measurements described in ``BENCHMARK.md`` ("What the errors look like").
- further detectors' fitted models (``NoiseConfig.extra_models``, JSON files of
  :class:`~binopose.data.noise.ErrorModel2D`), bias removed as the per-view family's is; they shape
  training only: an input is refined as one of the two families above.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from binopose.data.benchmark import load_benchmark
from binopose.data.noise import ErrorModel2D, fit_error_model, pose_scale_px
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.skeleton import NUM_JOINTS

#: the error family of a stereo-aware detector (the views move together)
STEREO = "stereo"
#: the error family of one detector run per view (independent errors)
PER_VIEW = "per-view"
#: what an input's family may be given as: found from its residual, or one of the families
FAMILY_CHOICES = ("auto", STEREO, PER_VIEW)
#: relative reprojection residual below which an input is taken to come from a stereo-aware detector
STEREO_RESIDUAL = 0.002


@dataclass(frozen=True)
class NoiseConfig:
    fit_from: str = ""  # a *_stereo_test.npz-format development file with per-view detections
    fit_subjects: list[str] = field(default_factory=lambda: ["S1", "S5", "S6", "S7"])
    stereo_weight: float = 0.5  # probability of the stereo-aware family
    stereo_shared: float = 0.012  # rms shared error, fraction of the person's size
    stereo_disparity: float = 0.0015  # independent u error per view
    stereo_offset: float = 0.008  # per-frame whole-pose shift (u and v)
    stereo_outlier_prob: float = 0.05
    per_view_swap_prob: float = 0.01
    profile_jitter: float = 0.0  # log-scale spread of a random per-joint factor on the error sizes
    generic_sigma: float = 0.025  # per-view size when no development file is given
    extra_models: list[str] = field(default_factory=list)  # ErrorModel2D JSON files of further detectors
    extra_weight: float = 0.0  # probability of one of them (shared equally); the rest as stereo_weight says


def per_view_model(cfg: NoiseConfig) -> ErrorModel2D:
    if not cfg.fit_from:
        s = np.full((2, NUM_JOINTS, 2), cfg.generic_sigma)
        return ErrorModel2D(
            PER_VIEW,
            indep_sigma=s.tolist(),
            shared_sigma=(s[0] * 0.3).tolist(),
            outlier_prob=0.05,
            swap_prob=cfg.per_view_swap_prob,
        )
    bench = load_benchmark(cfg.fit_from)
    if bench.kp2d_gt is None:
        raise BinoposeError(
            f"noise.fit_from {cfg.fit_from}: the file has no kp2d_gt to fit an error model on"
        )
    sel = np.isin(bench.subject, cfg.fit_subjects)
    if not sel.any():
        raise BinoposeError(
            f"noise.fit_from {cfg.fit_from}: none of the subjects {cfg.fit_subjects} is in the file"
        )
    m = fit_error_model(bench.kp2d_pred[sel], bench.kp2d_gt[sel], name=PER_VIEW)
    d = {**m.__dict__, "bias": np.zeros((2, NUM_JOINTS, 2)).tolist(), "swap_prob": cfg.per_view_swap_prob}
    return ErrorModel2D(**d)


def stereo_model(cfg: NoiseConfig, profile_from: ErrorModel2D) -> ErrorModel2D:
    prof = np.sqrt(
        np.asarray(profile_from.shared_sigma) ** 2 + np.asarray(profile_from.indep_sigma).mean(0) ** 2
    )
    prof = prof / np.sqrt((prof**2).mean()) * cfg.stereo_shared
    indep = np.zeros((2, NUM_JOINTS, 2))
    indep[..., 0] = cfg.stereo_disparity
    return ErrorModel2D(
        STEREO,
        shared_sigma=prof.tolist(),
        indep_sigma=indep.tolist(),
        offset_sigma=[cfg.stereo_offset, cfg.stereo_offset],
        offset_disparity_sigma=cfg.stereo_disparity,
        outlier_prob=cfg.stereo_outlier_prob,
    )


def extra_models(cfg: NoiseConfig) -> list[ErrorModel2D]:
    """The further detectors' error models of ``cfg.extra_models``, each with its bias removed."""
    if cfg.extra_weight > 0 and not cfg.extra_models:
        raise BinoposeError("config: noise.extra_weight > 0 needs at least one file in noise.extra_models")
    out: list[ErrorModel2D] = []
    for path in cfg.extra_models:
        m = ErrorModel2D.load(path)
        taken = {STEREO, PER_VIEW} | {e.name for e in out}
        if m.name in taken:
            raise BinoposeError(
                f"noise.extra_models {path}: family name {m.name!r} is taken (names: {sorted(taken)})"
            )
        out.append(replace(m, bias=np.zeros((2, NUM_JOINTS, 2)).tolist()))
    return out


def measured_families(cfg: NoiseConfig) -> set[str]:
    """The families whose size was fitted on a real detector (the others' sizes are presets)."""
    fitted = {m.name for m in extra_models(cfg)}
    return fitted | {PER_VIEW} if cfg.fit_from else fitted


def build_error_models(cfg: NoiseConfig) -> tuple[list[ErrorModel2D], list[float]]:
    """The training families and the probability of each: stereo-aware, per-view, then the extras."""
    pv = per_view_model(cfg)
    extras = extra_models(cfg)
    rest = 1 - (cfg.extra_weight if extras else 0.0)
    weights = [cfg.stereo_weight * rest, (1 - cfg.stereo_weight) * rest]
    weights += [(1 - rest) / max(1, len(extras))] * len(extras)
    return [stereo_model(cfg, pv), pv, *extras], weights


def stereo_mask(u: Tensor, P: Tensor, kind: str = "auto", scale: Tensor | None = None) -> Tensor:
    """Route each pose to an error family: (B,) True where input (B, 2, J, 2) with (B, 2, 3, 4) cameras
    goes to :data:`STEREO` (it reprojects with ~zero residual: a stereo-aware detector's), False where
    to :data:`PER_VIEW`; ``kind`` other than "auto" routes every pose to that family."""
    if kind not in FAMILY_CHOICES:
        raise BinoposeError(f"unknown error family {kind!r} (expected one of: {', '.join(FAMILY_CHOICES)})")
    if kind != "auto":
        return torch.full(u.shape[:1], kind == STEREO, device=u.device)
    scale = pose_scale_px(u) if scale is None else scale
    X = triangulate(u, P)
    res = ((project(X, P) - u).norm(dim=-1) / scale[..., None]).nanmedian(-1).values.amax(-1)
    return torch.nan_to_num(res, nan=1.0) < STEREO_RESIDUAL


def majority_family(mask: Tensor) -> str:
    """The family most poses of a :func:`stereo_mask` go to (per-view on a tie)."""
    return STEREO if float(mask.float().mean()) > 0.5 else PER_VIEW
