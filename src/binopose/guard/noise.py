"""The 2D noise the do-no-harm gate assumes, measured from the input's own triangulation residual
(:mod:`binopose.guard`): per joint, and the part all joints of a frame share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D, normalized_profile, pose_scale_px
from binopose.geometry import project
from binopose.skeleton import NUM_JOINTS

#: confidence below which a joint is left out of the residual statistics
MIN_CONF = 0.5


def independent_noise_var(u: Tensor, P: Tensor, T: Tensor, conf: Tensor | None = None) -> Tensor:
    """Per-joint variance of the independent 2D noise, per image coordinate, relative to the person's
    size: the variance over frames of the reprojection residual of the triangulation ``T`` (about its
    mean over the input: a residual every frame shares is a calibration error or a detector's bias, not
    noise, and Stein's estimate holds for zero-mean noise only), summed over both views and both
    coordinates (linear triangulation fits 3 of the 4 numbers, so that sum estimates one coordinate's
    variance).

    Args:
        u: (N, 2, J, 2) px. P: (N, 2, 3, 4). T: (N, J, 3) mm. conf: optional (N, 2, J).
    Returns:
        (J,) float64 (0 where no frame has the joint in both views).
    """
    return ResidualSums.of(*residual_terms(u, P, T, conf)).var()


@dataclass(frozen=True)
class NoiseModel:
    """The 2D noise the gate's probes are drawn from, relative to the person's size, per coordinate:
    (J,) variances independent per joint, and the variance of a part every joint of a frame and view
    shares (a per-frame offset of the whole pose; 0: none)."""

    joint_var: Tensor
    common_var: float = 0.0


@dataclass(frozen=True)
class ResidualSums:
    """Sums over frames of the relative triangulation residual (:func:`residual_terms`): its first and
    second moments (2, J, 2) and the frames counted (J,); and of each frame's common-mode residual (its
    mean over the joints counted, per view and coordinate): first and second moments (2, 2) and the
    frames with any joint counted. Sums of parts (chunks, a window of frames) add up to the sums of the
    whole."""

    s1: Tensor
    s2: Tensor
    n: Tensor
    c1: Tensor
    c2: Tensor
    m: float

    @staticmethod
    def zero(joints: int = NUM_JOINTS) -> ResidualSums:
        """No frames yet (its :meth:`var` is 0 for every joint)."""
        z, c = torch.zeros(2, joints, 2, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
        return ResidualSums(z, z, torch.zeros(joints, dtype=torch.float64), c, c, 0.0)

    @staticmethod
    def of(r: Tensor, ok: Tensor) -> ResidualSums:
        """From per-frame residuals r (N, 2, J, 2) (0 where not counted) and ok (N, J)."""
        r = r.double()
        k = ok.sum(1)
        c = r.sum(2) / k.clamp_min(1)[:, None, None]  # (N, 2, 2); 0 in frames with no joint counted
        return ResidualSums(
            r.sum(0), r.pow(2).sum(0), ok.sum(0).double(), c.sum(0), c.pow(2).sum(0), float((k > 0).sum())
        )

    def __add__(self, o: ResidualSums) -> ResidualSums:
        return ResidualSums(
            self.s1 + o.s1, self.s2 + o.s2, self.n + o.n, self.c1 + o.c1, self.c2 + o.c2, self.m + o.m
        )

    def var(self) -> Tensor:
        """(J,) :func:`independent_noise_var` of the frames summed."""
        n = self.n.clamp_min(1)[None, :, None]
        mean = self.s1 / n
        return (self.s2 / n - mean.pow(2)).clamp_min(0).sum((0, 2))

    def constant(self) -> Tensor:
        """(2,) per view, the length of the mean over frames of the frames' common-mode residual
        (fractions of the person's size): a disagreement of the views that every frame shares."""
        return (self.c1 / max(self.m, 1.0)).norm(dim=-1)

    def common_sd(self) -> Tensor:
        """(2,) per view, the standard deviation over frames of a frame's common-mode residual (the root
        of its variance summed over the two coordinates)."""
        m = max(self.m, 1.0)
        return (self.c2 / m - (self.c1 / m).pow(2)).clamp_min(0).sum(-1).sqrt()

    def noise(self, common: bool = False) -> NoiseModel:
        """The probes' noise: :meth:`var` per joint, or (``common``, the gate noise "common") that split
        into a per-frame part every joint shares and the rest. The common-mode residual's variance over
        frames (summed over views and coordinates, as :meth:`var`) less mean_j var_j / J estimates the
        shared part's variance; each joint keeps the rest of its own (both clipped at 0)."""
        var = self.var()
        if not common or self.m < 2:
            return NoiseModel(var)
        mean = self.c1 / self.m
        v_common = float((self.c2 / self.m - mean.pow(2)).clamp_min(0).sum())
        seen = self.n > 0
        shared = max(0.0, v_common - float(var[seen].mean()) / max(1, int(seen.sum())))
        return NoiseModel((var - shared).clamp_min(0), shared)


#: view_bias "hold-position": a constant disagreement of the views (:meth:`ResidualSums.constant`,
#: fractions of the person's size) above which the gate keeps triangulation's position, and the frames
#: it needs first (rule of 2026-12-03 20:02 UTC: the development file's constant is about 0.0025, MHAD's 0)
VIEW_BIAS_REL = 0.01
VIEW_BIAS_FRAMES = 30
#: view_bias "hold-strict" also needs the constant above this many standard deviations of a frame's
#: common-mode residual (:meth:`ResidualSums.common_sd`): it shows in every frame, as a calibration error
#: does, and not only on average, as where large noise meets a weak geometry (rule of 20:15 UTC)
VIEW_BIAS_SD = 3.0


def held_parts(parts: str, sums: ResidualSums, view_bias: str) -> str:
    """The gate's ``parts``, or "held" (:meth:`binopose.guard.SteinSums.shrinkage`: the correction's
    per-frame mean over the joints gets alpha 0) where ``view_bias`` is "hold-position" (or
    "hold-strict", which also needs the constant to show in every frame: :data:`VIEW_BIAS_SD`) and the
    recording's views disagree by a constant: a calibration error (or a per-view bias) biases the
    triangulated position, which Stein's estimate cannot see, and the network then moves the whole pose
    (docs/RESULTS.md, "Synthetic detectors")."""
    if view_bias not in ("hold-position", "hold-strict") or sums.m < VIEW_BIAS_FRAMES:
        return parts
    c = sums.constant()
    shows = c > VIEW_BIAS_REL
    if view_bias == "hold-strict":
        shows &= c > VIEW_BIAS_SD * sums.common_sd()
    return "held" if bool(shows.any()) else parts


#: the start levels an input's own residual may give (the schedule's range)
INPUT_LEVEL_RANGE = (0.05, 2.5)


def input_level(noise_var: Tensor, model: ErrorModel2D) -> tuple[float, np.ndarray]:
    """The start level and the per-joint noise profile that an input's own triangulation residual
    (``noise_var`` (J,), :func:`independent_noise_var`) implies for error family ``model``, whose size
    at level 1 is :meth:`ErrorModel2D.residual_rms`: for per-view input with no statistics, in place
    of the family's fitted size. The level is clipped to :data:`INPUT_LEVEL_RANGE`."""
    v = torch.as_tensor(noise_var).double().numpy()
    seen = v > 0
    if not seen.any():
        return model.default_level, model.joint_profile()
    level = float(np.sqrt(v[seen].mean())) / max(model.residual_rms(), 1e-9)
    return float(np.clip(level, *INPUT_LEVEL_RANGE)), normalized_profile(np.sqrt(v))


def residual_terms(u: Tensor, P: Tensor, T: Tensor, conf: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(N, 2, J, 2) each frame's reprojection residual relative to the person's size (0 where not
    counted) and (N, J) where it counts (:func:`independent_noise_var`)."""
    scale = pose_scale_px(u)
    r = (u - project(T, P)) / scale[:, :, None, None]
    ok = torch.isfinite(r).all(-1).all(1)  # (N, J)
    if conf is not None:
        ok &= (conf >= MIN_CONF).all(1)
    return torch.where(ok[:, None, :, None], r, 0.0), ok
