"""Do no harm: a refiner's correction is kept only as far as the input's own evidence supports it.

Two steps after the network, both per input (a recording, or the frames one benchmark fold predicts),
neither with any ground truth or test statistics:

1. **Keep the detector's joint definitions** (:func:`binopose.offsets.keep_definitions`): the part of
   the correction that every frame gets, in the body's own frame (a pelvis moved to the hips' midpoint,
   a head moved up), is the refiner's training definitions, not noise; it is taken out.
2. **Shrink toward triangulation by Stein's unbiased risk estimate** (:func:`sure_shrinkage`): the output
   is ``T + alpha * Delta`` (``T`` the triangulation, ``Delta`` the kept correction). For 2D noise with
   covariance Sigma, Stein's lemma gives the change of the expected squared 3D error against ``T``
   without knowing the truth,

       r(alpha) = alpha^2 * sum ||Delta||^2 + 2 * alpha * sum tr(J_Delta Sigma J_T^T),

   (Stein 1981; Eldar 2009 for estimates of a transformed mean), minimised by
   ``alpha = clip(-D / Q, 0, 1)``. The trace ``D`` is estimated with random 2D probes drawn from Sigma
   (finite differences of the refiner and of triangulation). Sigma is the input's *independent* 2D
   noise per joint, measured from its own triangulation residual (:func:`independent_noise_var`): two
   views leave one degree of freedom per joint. Noise shared by both views (stereo-aware detectors)
   leaves no residual, so it cannot be seen, and such input gets ``alpha ~ 0``: triangulation. The
   residual is taken about its mean over the input's frames: a residual every frame shares (a
   calibration error, a per-view detector bias) is not noise, and Stein's estimate needs zero-mean
   noise. So one frame alone has no measurable noise and is returned triangulated; input that arrives
   a frame at a time is judged with :class:`RunningEvidence`. Sigma has two parts
   (:meth:`ResidualSums.noise`, the default ``gate_noise="common"`` since the rule of 18:10 UTC): noise
   independent per joint, and a per-frame part that every joint of a view shares (an offset of the
   whole pose), seen in the residual's common mode. Probes without the shared part miss how the network
   answers it: it changes the pose's shape, and the gate let that through (docs/RESULTS.md, "Synthetic
   detectors").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from binopose.data.noise import ErrorModel2D, normalized_profile, pose_scale_px
from binopose.geometry import project, triangulate
from binopose.offsets import KEEP_PRIOR_FRAMES, body_corrections, remove_body_offset
from binopose.skeleton import NUM_JOINTS

#: relative size of the random 2D probes (the finite-difference step, in units of the noise's own size)
PROBE_SCALE = 0.5
#: standard errors of caution of the "lcb" gate: a one-sided 90 % lower bound of the risk reduction
LCB_Z = 1.2816
#: the probes' shared part is drawn from a generator seeded this far from the per-joint part's
COMMON_SEED = 7919
#: confidence below which a joint is left out of the residual statistics
MIN_CONF = 0.5
#: frames of evidence a running input (binopose live) keeps, and how many it needs before it corrects
WINDOW_FRAMES = 300
MIN_FRAMES = 10


@dataclass(frozen=True)
class GateReport:
    """What the gate found for one input: the shrinkage, and the evidence it rests on."""

    alpha: float  # 0: triangulation, 1: the (definition-keeping) refiner (per joint: their mean)
    noise_rel: float  # estimated independent 2D noise, rms per coordinate, fraction of the person's size
    risk_change_mm2: float  # estimated change of the mean squared joint error against triangulation
    frames: int
    joint_alpha: tuple[float, ...] | None = None  # gate "lcb-joints": each joint's own shrinkage


def gate_settings(gate: str) -> tuple[float, bool]:
    """(z, per joint) of a gate name (:data:`binopose.refine_options.GATES`, not "off"): standard errors
    of caution, and whether each joint gets its own shrinkage."""
    return (LCB_Z if gate in ("lcb", "lcb-joints") else 0.0), gate == "lcb-joints"


def blend(T: Tensor, kept: Tensor, alpha: float | Tensor) -> Tensor:
    """``T + alpha * (kept - T)`` for (N, J, 3) poses; ``alpha`` a number or (J,) per joint."""
    a = alpha[:, None].to(T) if isinstance(alpha, Tensor) else alpha
    return T + a * (kept - T)


def report(alpha: float | Tensor, noise_rel: float, risk: float, frames: int) -> GateReport:
    """The :class:`GateReport` of a shrinkage (a number, or (J,) per joint)."""
    if isinstance(alpha, Tensor):
        return GateReport(float(alpha.mean()), noise_rel, risk, frames, tuple(alpha.tolist()))
    return GateReport(alpha, noise_rel, risk, frames)


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


def stein_terms(delta: Tensor, d_delta: Tensor, d_tri: Tensor, probe_scale: float) -> tuple[Tensor, Tensor]:
    """Each frame's two terms of Stein's risk estimate per joint: (N, J) ``||Delta_nj||^2`` and (N, J)
    the trace term ``D_nj`` (mean over the probe rounds), from the correction ``delta`` (N, J, 3) and the
    probes' ``d_delta``, ``d_tri`` (P * N, J, 3; :func:`sure_shrinkage`). Joints that are not finite
    count 0."""
    N, J = delta.shape[:2]
    ok = torch.isfinite(delta).all(-1)
    okp = torch.isfinite(d_delta).all(-1) & torch.isfinite(d_tri).all(-1)
    rounds = max(1, d_delta.shape[0] // max(1, N))
    per = torch.where(okp[..., None], d_delta * d_tri, 0.0).sum(-1) / probe_scale**2
    Q_n = torch.where(ok[..., None], delta, 0.0).pow(2).sum(-1)
    return Q_n, per.view(rounds, N, J).mean(0)


@dataclass(frozen=True)
class SteinSums:
    """What the shrinkage needs of the frames' Stein terms (:func:`stein_terms`), as sums over frames:
    per joint the squared correction ``Q``, the trace term ``D`` and its square ``D2``; the square of
    each frame's total trace term ``Dt2``; the frames and the finite joints. Sums of parts (blocks of a
    long input) add up to the sums of the whole, so no per-frame term need be kept."""

    Q: Tensor
    D: Tensor
    D2: Tensor
    Dt2: float
    frames: int
    joints: int

    @staticmethod
    def zero(joints: int = NUM_JOINTS) -> SteinSums:
        """No frames yet."""
        z = torch.zeros(joints, dtype=torch.float64)
        return SteinSums(z, z, z, 0.0, 0, 0)

    @staticmethod
    def of(Q_n: Tensor, D_n: Tensor, joints: int) -> SteinSums:
        """From (N, J) terms (``D_n`` averaged over the probe rounds) and the finite joints among them."""
        Q_n, D_n = Q_n.double(), D_n.double()
        return SteinSums(
            Q_n.sum(0), D_n.sum(0), D_n.pow(2).sum(0), float(D_n.sum(1).pow(2).sum()), len(D_n), joints
        )

    def __add__(self, o: SteinSums) -> SteinSums:
        return SteinSums(
            self.Q + o.Q,
            self.D + o.D,
            self.D2 + o.D2,
            self.Dt2 + o.Dt2,
            self.frames + o.frames,
            self.joints + o.joints,
        )

    def shrinkage(self, z: float = 0.0, per_joint: bool = False) -> tuple[float | Tensor, float]:
        """alpha in [0, 1] minimising ``alpha^2 Q + 2 alpha D``, with ``D`` taken ``z`` standard errors
        (frames as independent samples) toward caution: one number, or (J,) with each joint's own sums
        (``per_joint``); and the estimated risk change per joint (mm^2) over the finite joints."""
        N = self.frames

        def spread(square: Tensor | float, total: Tensor | float) -> Tensor | float:
            if N <= 1:
                return 0.0 * total
            var = (square - total * total / N) / (N - 1)
            return (var.clamp_min(0) if isinstance(var, Tensor) else max(var, 0.0)) ** 0.5 * N**0.5

        if per_joint:
            D = self.D + z * spread(self.D2, self.D)
            alpha = torch.where(self.Q > 0, (-D / self.Q.clamp_min(1e-300)).clamp(0.0, 1.0), 0.0)
            risk = float((alpha**2 * self.Q + 2 * alpha * self.D).sum())
            return alpha, risk / max(1, self.joints)
        Q, D_sum = float(self.Q.sum()), float(self.D.sum())
        if Q <= 0:
            return 0.0, 0.0
        alpha = float(np.clip(-(D_sum + z * spread(self.Dt2, D_sum)) / Q, 0.0, 1.0))
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
    Q_n, D_n = stein_terms(delta, d_delta, d_tri, probe_scale)
    return SteinSums.of(Q_n, D_n, int(torch.isfinite(delta).all(-1).sum())).shrinkage(z)


def probe_count(frames: int) -> int:
    """Random probes per frame: enough that a short input's estimate is not one draw (>= 256 draws)."""
    return int(min(8, max(1, -(-256 // max(1, frames)))))


def has_spread(u: Tensor, P: Tensor, T: Tensor, conf: Tensor | None = None) -> bool:
    """Whether the input's residual varies about its mean at all; without that (one frame alone, exact
    2D) :func:`gate` returns triangulation, so the network need not run."""
    return float(independent_noise_var(u, P, T, conf).mean()) > 0


def gate(
    refine: Callable[[Tensor, Tensor], Tensor],
    u: Tensor,
    P: Tensor,
    T: Tensor,
    kept: Tensor,
    conf: Tensor | None = None,
    seed: int = 0,
    z: float = 0.0,
    per_joint: bool = False,
    common: bool = False,
) -> tuple[Tensor, GateReport]:
    """Shrink a refiner's (definition-keeping) output toward triangulation (module docstring).

    Args:
        refine: (2D (N, 2, J, 2), its triangulation (N, J, 3)) -> (N, J, 3) refined poses with its
            definitions kept, the same function that produced ``kept`` (called again on probed input,
            with the probed input's triangulation, which the gate has computed already).
        u: (N, 2, J, 2) px. P: (N, 2, 3, 4). T: (N, J, 3) the triangulation of ``u`` (with ``conf``).
        kept: (N, J, 3) ``refine(u)``. conf: optional (N, 2, J) confidences.
        z: standard errors of caution (:func:`sure_shrinkage`; :data:`LCB_Z` for a 90 % bound).
        per_joint: one shrinkage per joint (the risk estimate is a sum over joints), not one for all.
        common: probes with a per-frame part shared by all joints (:meth:`ResidualSums.noise`).
    Returns:
        (N, J, 3) ``T + alpha * (kept - T)``, and the report.
    """
    sums = ResidualSums.of(*residual_terms(u, P, T, conf))
    noise_rel = float(sums.var().mean().sqrt())
    if noise_rel <= 0 or len(u) == 0:
        return T.clone(), GateReport(0.0, noise_rel, 0.0, len(u))
    Q_n, D_n = probe_terms(refine, u, P, T, kept, conf, sums.noise(common), probe_count(len(u)), seed)
    finite = int(torch.isfinite(kept - T).all(-1).sum())
    alpha, risk = SteinSums.of(Q_n, D_n, finite).shrinkage(z, per_joint)
    return blend(T, kept, alpha), report(alpha, noise_rel, risk, len(u))


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
) -> tuple[Tensor, Tensor]:
    """Each frame's Stein terms (:func:`stein_terms`) from ``rounds`` rounds of random 2D probes drawn
    from ``noise`` (:meth:`ResidualSums.noise`; its shared part from a second generator, seeded
    ``seed`` + :data:`COMMON_SEED`); arguments as :func:`gate`."""
    gen, gen_c = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + COMMON_SEED)
    scale = pose_scale_px(u)
    sd = noise.joint_var.sqrt().to(u)[None, None, :, None] * scale[:, :, None, None]
    sd_c = noise.common_var**0.5 * scale[:, :, None, None]
    d_delta, d_tri = [], []
    for _ in range(rounds):
        step = torch.randn(u.shape, generator=gen, dtype=u.dtype) * sd * PROBE_SCALE
        if noise.common_var > 0:
            step = step + torch.randn(len(u), 2, 1, 2, generator=gen_c, dtype=u.dtype) * sd_c * PROBE_SCALE
        T_p = triangulate(u + step, P, conf)
        d_tri.append(T_p - T)
        d_delta.append((refine(u + step, T_p) - kept) - (T_p - T))
    return stein_terms(kept - T, torch.cat(d_delta), torch.cat(d_tri), PROBE_SCALE)


@dataclass
class RunningEvidence:
    """The per-recording evidence of :func:`gate` and :func:`binopose.offsets.keep_definitions` for input
    that arrives a frame at a time (``binopose live``): the body-frame corrections, the triangulation
    residuals and the gate's per-frame Stein terms of the last ``window`` frames, so that each new frame
    is judged as part of its recording instead of alone. Until ``min_frames`` frames are in, the gate
    returns triangulation. One object per recording; not thread-safe."""

    window: int = WINDOW_FRAMES
    min_frames: int = MIN_FRAMES
    seed: int = 0
    _d: deque = field(default_factory=deque, repr=False)  # (17, 3) body-frame corrections
    _res: deque = field(default_factory=deque, repr=False)  # ((2, J, 2) residuals, (J,) counted)
    _terms: deque = field(default_factory=deque, repr=False)  # ((J,) Q_n, (J,) D_n, finite joints)
    _older: np.ndarray | float = field(default=0.0, repr=False)  # summed corrections before this call
    _older_n: int = field(default=0, repr=False)
    _calls: int = 0

    def _push(self, q: deque, items) -> None:
        q.extend(items)
        while len(q) > self.window:
            q.popleft()

    def keep(
        self, refined: np.ndarray, triangulated: np.ndarray, joints: np.ndarray | None = None
    ) -> np.ndarray:
        """:func:`keep_definitions` of the new frames with the mean correction of the whole window, at
        the joints ``joints`` ((17,) bool; None: all)."""
        R, d, ok = body_corrections(refined, triangulated)
        self._push(self._d, d)
        older = list(self._d)[: len(self._d) - len(d)]
        self._older = np.sum(older, 0) if older else np.zeros(d.shape[1:])
        self._older_n = len(older)
        return self._remove(refined, R, d, ok, joints)

    def keep_fixed(
        self, refined: np.ndarray, triangulated: np.ndarray, joints: np.ndarray | None = None
    ) -> np.ndarray:
        """As :meth:`keep` for other values of the same new frames (the gate's probes), without adding
        them to the evidence: the offset is the window's older frames' and these frames' mean."""
        return self._remove(refined, *body_corrections(refined, triangulated), joints)

    def _remove(
        self, refined: np.ndarray, R: np.ndarray, d: np.ndarray, ok: np.ndarray, joints: np.ndarray | None
    ) -> np.ndarray:
        n = self._older_n + len(d)
        if n == 0:
            return np.array(refined, np.float64)
        s = (self._older + d.sum(0)) / (n + KEEP_PRIOR_FRAMES)
        return remove_body_offset(refined, R, s, ok, joints)

    def gate(
        self,
        refine: Callable[[Tensor, Tensor], Tensor],
        u: Tensor,
        P: Tensor,
        T: Tensor,
        kept: Tensor,
        conf: Tensor | None = None,
        z: float = 0.0,
        per_joint: bool = False,
        common: bool = False,
    ) -> tuple[Tensor, GateReport]:
        """:func:`gate` of the new frames, with the noise level and the shrinkage from the window."""
        r, ok = residual_terms(u, P, T, conf)
        self._push(self._res, zip(r, ok))
        sums = ResidualSums.of(torch.stack([x for x, _ in self._res]), torch.stack([c for _, c in self._res]))
        noise_rel = float(sums.var().mean().sqrt())
        if noise_rel <= 0 or len(u) == 0:
            return T.clone(), GateReport(0.0, noise_rel, 0.0, len(self._res))
        rounds = probe_count(len(self._terms) + len(u))
        seed = self.seed + self._calls
        Q_n, D_n = probe_terms(refine, u, P, T, kept, conf, sums.noise(common), rounds, seed)
        self._calls += 1
        joints = torch.isfinite(kept - T).all(-1).sum(-1)
        self._push(self._terms, zip(Q_n, D_n, joints.tolist()))
        n = len(self._terms)
        if n < self.min_frames:
            return T.clone(), GateReport(0.0, noise_rel, 0.0, n)
        Q, D, J = zip(*self._terms)
        alpha, risk = SteinSums.of(torch.stack(Q), torch.stack(D), sum(J)).shrinkage(z, per_joint)
        return blend(T, kept, alpha), report(alpha, noise_rel, risk, n)
