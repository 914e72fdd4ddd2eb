"""What :meth:`binopose.refiner.Refiner.refine` checks and how it walks its input: the shapes of the
keypoints, cameras and confidences (undistorted through a rig's lens model), and a cheap geometric step
over all frames a chunk at a time, and the start level an input's own residual implies."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D
from binopose.data.presets import stereo_mask
from binopose.errors import BinoposeError
from binopose.geometry.rig import StereoRig
from binopose.guard import ResidualSums, input_level, residual_terms
from binopose.refine_options import RefineOptions
from binopose.skeleton import NUM_JOINTS


def chunked(fn, a: Tensor, P: Tensor, c: Tensor | None, chunk: int) -> Tensor:
    """``fn(a, P, c)`` chunk by chunk in float64 on the CPU: a cheap geometric step over all frames."""
    parts = [
        fn(
            a[i : i + chunk].double(),
            P[i : i + chunk].double(),
            None if c is None else c[i : i + chunk].double(),
        )
        for i in range(0, a.shape[0], chunk)
    ]
    return torch.cat(parts) if parts else fn(a.double(), P.double(), c)


def check_inputs(
    kp2d: Tensor | np.ndarray, cameras: StereoRig | Tensor | np.ndarray, conf: Tensor | np.ndarray | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Checked (N, 2, 17, 2) keypoints (undistorted), (N, 2, 3, 4) cameras and (N, 2, 17) confidences."""
    u = torch.as_tensor(kp2d)  # converted to float64 chunk by chunk (a million poses stay small)
    if u.ndim != 4 or u.shape[1:] != (2, NUM_JOINTS, 2):
        raise BinoposeError(f"keypoints must have shape (N, 2, 17, 2), got {tuple(u.shape)}")
    if isinstance(cameras, StereoRig):
        lens = [c.fisheye or c.dist.any() for c in (cameras.left, cameras.right)]
        if any(lens):  # an ideal rig's input stays as it is (a fisheye lens is never ideal)
            u = cameras.undistort(u.double())
        P = cameras.projection_matrices(torch.float64)
    else:
        P = torch.as_tensor(cameras)
    if P.shape[-3:] != (2, 3, 4) or P.ndim not in (3, 4) or (P.ndim == 4 and P.shape[0] != u.shape[0]):
        raise BinoposeError(f"projection matrices must be (2, 3, 4) or (N, 2, 3, 4), got {tuple(P.shape)}")
    c = None if conf is None else torch.as_tensor(conf)
    if c is not None and c.shape != u.shape[:3]:
        raise BinoposeError(f"confidences must have shape (N, 2, 17), got {tuple(c.shape)}")
    return u, P.expand(u.shape[0], 2, 3, 4), c


def level_options(
    u: Tensor,
    P: Tensor,
    T: Tensor,
    conf: Tensor | None,
    options: RefineOptions,
    model: ErrorModel2D,
    chunk: int,
) -> RefineOptions:
    """``options`` with the start level (and, for ``level_from="input-profile"``, the per-joint profile)
    that the input's own triangulation residual implies under the per-view error ``model``
    (:func:`binopose.guard.input_level`), when most of the input follows the per-view family;
    stereo-aware input, whose residual shows none of its noise, keeps its family's level. u (N, 2, 17,
    2), P (N, 2, 3, 4), T (N, 17, 3) its triangulation, conf (N, 2, 17) or None. (A tried variant, not the default: RESULTS.md.)"""
    rows = [slice(i, i + chunk) for i in range(0, u.shape[0], chunk)]
    part = lambda t, sl: None if t is None else t[sl].double()  # noqa: E731
    stereo = sum(int(stereo_mask(u[sl].double(), P[sl].double(), options.noise_kind).sum()) for sl in rows)
    if stereo * 2 > u.shape[0]:
        return options
    sums = sum(
        (
            ResidualSums.of(*residual_terms(u[sl].double(), P[sl].double(), T[sl], part(conf, sl)))
            for sl in rows
        ),
        ResidualSums.zero(),
    )
    level, profile = input_level(sums.var(), model)
    if options.level_from == "input-profile":
        return replace(options, start_sigma=level, noise_profile=tuple(profile))
    return replace(options, start_sigma=level)
