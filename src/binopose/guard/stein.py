"""Stein's risk estimate of a shrinkage toward triangulation (:mod:`binopose.guard`): the random 2D
probes, each frame's terms, their sums and the shrinkage they give, and the gate's report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from binopose.data.noise import pose_scale_px
from binopose.geometry import triangulate
from binopose.guard.noise import NoiseModel
from binopose.skeleton import NUM_JOINTS

#: relative size of the random 2D probes (the finite-difference step, in units of the noise's own size)
PROBE_SCALE = 0.5
#: standard errors of caution of the "lcb" gate: a one-sided 90 % lower bound of the risk reduction
LCB_Z = 1.2816
#: the probes' shared part is drawn from a generator seeded this far from the per-joint part's
COMMON_SEED = 7919


@dataclass(frozen=True)
class GateReport:
    """What the gate found for one input: the shrinkage, and the evidence it rests on."""

    alpha: float  # 0: triangulation, 1: the (definition-keeping) refiner (per joint: their mean)
    noise_rel: float  # estimated independent 2D noise, rms per coordinate, fraction of the person's size
    risk_change_mm2: float  # estimated change of the mean squared joint error against triangulation
    frames: int
    joint_alpha: tuple[float, ...] | None = None  # gate "lcb-joints": each joint's own shrinkage
    part_alpha: tuple[float, float] | None = None  # gate "lcb-split": (position, shape)


#: how the gate's shrinkage is split: one for all, one per joint, or one for where the pose is (the
#: correction's per-frame mean over the joints) and one for its shape (the rest), or that split with
#: the position held at triangulation's ("held": the views disagree by a constant, :func:`held_parts`)
PARTS = ("all", "joints", "split", "held")


@dataclass(frozen=True)
class Split:
    """The shrinkage of gate "lcb-split": of the correction's per-frame mean over the joints, and of
    the rest."""

    position: float
    shape: float


def gate_settings(gate: str) -> tuple[float, str]:
    """(z, parts) of a gate name (:data:`binopose.refine_options.GATES`, not "off"): standard errors of
    caution, and how the shrinkage is split (:data:`PARTS`)."""
    z = LCB_Z if gate in ("lcb", "lcb-joints", "lcb-split") else 0.0
    return z, {"lcb-joints": "joints", "lcb-split": "split"}.get(gate, "all")


def _finite_mean(x: Tensor) -> Tensor:
    """(..., J, 3) -> (..., 1, 3): the mean over the finite joints (0 where none is)."""
    ok = torch.isfinite(x).all(-1, keepdim=True)
    return torch.where(ok, x, 0.0).sum(-2, keepdim=True) / ok.sum(-2, keepdim=True).clamp_min(1)


def blend(T: Tensor, kept: Tensor, alpha: float | Tensor | Split) -> Tensor:
    """``T + alpha * (kept - T)`` for (N, J, 3) poses; ``alpha`` a number, (J,) per joint, or a
    :class:`Split` (the correction's per-frame mean over the joints and the rest shrunk apart)."""
    if isinstance(alpha, Split):
        delta = kept - T
        m = _finite_mean(delta)
        return T + alpha.position * m + alpha.shape * (delta - m)
    a = alpha[:, None].to(T) if isinstance(alpha, Tensor) else alpha
    return T + a * (kept - T)


def report(alpha: float | Tensor | Split, noise_rel: float, risk: float, frames: int) -> GateReport:
    """The :class:`GateReport` of a shrinkage (a number, (J,) per joint, or a :class:`Split`)."""
    if isinstance(alpha, Split):
        mean = (alpha.position + alpha.shape) / 2
        return GateReport(mean, noise_rel, risk, frames, part_alpha=(alpha.position, alpha.shape))
    if isinstance(alpha, Tensor):
        return GateReport(float(alpha.mean()), noise_rel, risk, frames, tuple(alpha.tolist()))
    return GateReport(alpha, noise_rel, risk, frames)


class FrameTerms(NamedTuple):
    """Each frame's terms of Stein's risk estimate (:func:`stein_terms`): per joint (N, J) the squared
    correction ``Q`` and the trace term ``D``; and (N,) the same of the correction's per-frame mean over
    the joints, ``Qm`` and ``Dm`` (its share of the sums over joints: the rest is the pose's shape)."""

    Q: Tensor
    D: Tensor
    Qm: Tensor
    Dm: Tensor


def stein_terms(delta: Tensor, d_delta: Tensor, d_tri: Tensor, probe_scale: float) -> FrameTerms:
    """Each frame's terms of Stein's risk estimate (:class:`FrameTerms`; D averaged over the probe
    rounds), from the correction ``delta`` (N, J, 3) and the probes' ``d_delta``, ``d_tri``
    (P * N, J, 3; :func:`sure_shrinkage`). Joints that are not finite count 0. With k finite joints,
    ``sum_j <a_j, b_j> = k <mean a, mean b> + sum_j <a_j - mean a, b_j - mean b>``: the position and
    shape parts add up to the whole."""
    N, J = delta.shape[:2]
    ok = torch.isfinite(delta).all(-1)
    okp = torch.isfinite(d_delta).all(-1) & torch.isfinite(d_tri).all(-1)
    rounds = max(1, d_delta.shape[0] // max(1, N))
    a, b = torch.where(okp[..., None], d_delta, 0.0), torch.where(okp[..., None], d_tri, 0.0)
    per = (a * b).sum(-1) / probe_scale**2
    k = okp.sum(-1).clamp_min(1)
    per_m = (a.sum(-2) * b.sum(-2)).sum(-1) / k / probe_scale**2  # k <mean a, mean b>
    d = torch.where(ok[..., None], delta, 0.0)
    Q_m = d.sum(-2).pow(2).sum(-1) / ok.sum(-1).clamp_min(1)
    return FrameTerms(d.pow(2).sum(-1), per.view(rounds, N, J).mean(0), Q_m, per_m.view(rounds, N).mean(0))


@dataclass(frozen=True)
class SteinSums:
    """What the shrinkage needs of the frames' Stein terms (:func:`stein_terms`), as sums over frames:
    per joint the squared correction ``Q``, the trace term ``D`` and its square ``D2``; the square of
    each frame's total trace term ``Dt2``; of the position part (:class:`FrameTerms`) ``Qm``, ``Dm``,
    ``Dm2`` and of the shape part's trace term the square ``Ds2``; the frames and the finite joints.
    Sums of parts (blocks of a long input) add up to the sums of the whole, so no per-frame term need
    be kept."""

    Q: Tensor
    D: Tensor
    D2: Tensor
    Dt2: float
    frames: int
    joints: int
    Qm: float = 0.0
    Dm: float = 0.0
    Dm2: float = 0.0
    Ds2: float = 0.0

    @staticmethod
    def zero(joints: int = NUM_JOINTS) -> SteinSums:
        """No frames yet."""
        z = torch.zeros(joints, dtype=torch.float64)
        return SteinSums(z, z, z, 0.0, 0, 0)

    @staticmethod
    def of(t: FrameTerms, joints: int) -> SteinSums:
        """From one or more frames' :class:`FrameTerms` and the finite joints among them."""
        Q_n, D_n, Qm, Dm = (x.double() for x in t)
        total = D_n.sum(1)
        return SteinSums(
            Q_n.sum(0),
            D_n.sum(0),
            D_n.pow(2).sum(0),
            float(total.pow(2).sum()),
            len(D_n),
            joints,
            float(Qm.sum()),
            float(Dm.sum()),
            float(Dm.pow(2).sum()),
            float((total - Dm).pow(2).sum()),
        )

    def __add__(self, o: SteinSums) -> SteinSums:
        return SteinSums(
            self.Q + o.Q,
            self.D + o.D,
            self.D2 + o.D2,
            self.Dt2 + o.Dt2,
            self.frames + o.frames,
            self.joints + o.joints,
            self.Qm + o.Qm,
            self.Dm + o.Dm,
            self.Dm2 + o.Dm2,
            self.Ds2 + o.Ds2,
        )

    def _spread(self, square: Tensor | float, total: Tensor | float) -> Tensor | float:
        """sd of the frames' terms times sqrt(N): the standard error of their sum."""
        N = self.frames
        if N <= 1:
            return 0.0 * total
        var = (square - total * total / N) / (N - 1)
        return (var.clamp_min(0) if isinstance(var, Tensor) else max(var, 0.0)) ** 0.5 * N**0.5

    def _one(self, Q: float, D: float, square: float, z: float) -> float:
        return 0.0 if Q <= 0 else float(np.clip(-(D + z * self._spread(square, D)) / Q, 0.0, 1.0))

    def shrinkage(self, z: float = 0.0, parts: str = "all") -> tuple[float | Tensor | Split, float]:
        """alpha in [0, 1] minimising ``alpha^2 Q + 2 alpha D``, with ``D`` taken ``z`` standard errors
        (frames as independent samples) toward caution: one number (``parts`` "all"), (J,) with each
        joint's own sums ("joints"), or a :class:`Split` ("split"; "held": its position part 0); and the
        estimated risk change per joint (mm^2) over the finite joints."""
        if parts in ("split", "held"):
            Qs, Ds = float(self.Q.sum()) - self.Qm, float(self.D.sum()) - self.Dm
            position = 0.0 if parts == "held" else self._one(self.Qm, self.Dm, self.Dm2, z)
            a = Split(position, self._one(Qs, Ds, self.Ds2, z))
            risk = a.position**2 * self.Qm + 2 * a.position * self.Dm + a.shape**2 * Qs + 2 * a.shape * Ds
            return a, risk / max(1, self.joints)
        if parts == "joints":
            D = self.D + z * self._spread(self.D2, self.D)
            alpha = torch.where(self.Q > 0, (-D / self.Q.clamp_min(1e-300)).clamp(0.0, 1.0), 0.0)
            risk = float((alpha**2 * self.Q + 2 * alpha * self.D).sum())
            return alpha, risk / max(1, self.joints)
        Q, D_sum = float(self.Q.sum()), float(self.D.sum())
        alpha = self._one(Q, D_sum, self.Dt2, z)  # 0 where there is no correction (Q 0): risk 0
        return alpha, (alpha**2 * Q + 2 * alpha * D_sum) / max(1, self.joints)


def sure_shrinkage(
    delta: Tensor, d_delta: Tensor, d_tri: Tensor, probe_scale: float, z: float = 0.0
) -> tuple[float | Tensor, float]:
    """The shrinkage alpha in [0, 1] minimising Stein's risk estimate, and that minimum (mm^2 per joint).

    Args:
        delta: (N, J, 3) the correction against triangulation.
        d_delta, d_tri: (P * N, J, 3) the change of the correction and of the triangulation under P
            rounds of 2D probes of ``probe_scale`` times the noise (stacked round after round).
        z: take the risk reduction at its one-sided lower confidence bound, ``z`` standard errors
            below the estimate (frames as independent samples; 0: the estimate itself).
    """
    terms = stein_terms(delta, d_delta, d_tri, probe_scale)
    return SteinSums.of(terms, int(torch.isfinite(delta).all(-1).sum())).shrinkage(z)


def probe_count(frames: int) -> int:
    """Random probes per frame: enough that a short input's estimate is not one draw (>= 256 draws)."""
    return int(min(8, max(1, -(-256 // max(1, frames)))))


def probe_step(u: Tensor, noise: NoiseModel, normals: Tensor, shared: Tensor | None) -> Tensor:
    """The 2D step (px) of one random probe of ``u`` (n, 2, J, 2): the standard normals ``normals`` (u's
    shape) times each joint's noise, plus ``shared`` (n, 2, 1, 2; None when ``noise`` has no shared part)
    times the shared part's, in units of the person's size in each view, times :data:`PROBE_SCALE`."""
    scale = pose_scale_px(u)[:, :, None, None]
    step = normals * (noise.joint_var.sqrt().to(u)[None, None, :, None] * scale) * PROBE_SCALE
    if shared is not None:
        step = step + shared * (noise.common_var**0.5 * scale) * PROBE_SCALE
    return step


def probe_terms(
    refine: Callable[[Tensor, Tensor], Tensor],
    u: Tensor,
    P: Tensor,
    T: Tensor,
    kept: Tensor,
    conf: Tensor | None,
    noise: NoiseModel,
    rounds: int,
    seed: int = 0,
) -> FrameTerms:
    """Each frame's Stein terms (:func:`stein_terms`) from ``rounds`` rounds of random 2D probes drawn
    from ``noise`` (:meth:`ResidualSums.noise`; its shared part from a second generator, seeded
    ``seed`` + :data:`COMMON_SEED`); arguments as :func:`gate`."""
    gen, gen_c = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + COMMON_SEED)
    d_delta, d_tri = [], []
    for _ in range(rounds):
        normals = torch.randn(u.shape, generator=gen, dtype=u.dtype)
        shared = (
            torch.randn(len(u), 2, 1, 2, generator=gen_c, dtype=u.dtype) if noise.common_var > 0 else None
        )
        step = probe_step(u, noise, normals, shared)
        T_p = triangulate(u + step, P, conf)
        d_tri.append(T_p - T)
        d_delta.append((refine(u + step, T_p) - kept) - (T_p - T))
    return stein_terms(kept - T, torch.cat(d_delta), torch.cat(d_tri), PROBE_SCALE)
