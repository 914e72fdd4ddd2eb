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

from collections.abc import Callable

import torch
from torch import Tensor

from binopose.guard.noise import (
    INPUT_LEVEL_RANGE,
    MIN_CONF,
    VIEW_BIAS_FRAMES,
    VIEW_BIAS_REL,
    NoiseModel,
    ResidualSums,
    held_parts,
    independent_noise_var,
    input_level,
    residual_terms,
)
from binopose.guard.running import MIN_FRAMES, WINDOW_FRAMES, RunningEvidence
from binopose.guard.stein import (
    COMMON_SEED,
    LCB_Z,
    PARTS,
    PROBE_SCALE,
    FrameTerms,
    GateReport,
    Split,
    SteinSums,
    blend,
    gate_settings,
    probe_count,
    probe_step,
    probe_terms,
    report,
    stein_terms,
    sure_shrinkage,
)

__all__ = [
    "COMMON_SEED",
    "PARTS",
    "FrameTerms",
    "Split",
    "INPUT_LEVEL_RANGE",
    "LCB_Z",
    "MIN_CONF",
    "MIN_FRAMES",
    "PROBE_SCALE",
    "WINDOW_FRAMES",
    "VIEW_BIAS_FRAMES",
    "VIEW_BIAS_REL",
    "GateReport",
    "NoiseModel",
    "ResidualSums",
    "RunningEvidence",
    "SteinSums",
    "blend",
    "gate",
    "gate_settings",
    "has_spread",
    "held_parts",
    "independent_noise_var",
    "input_level",
    "probe_count",
    "probe_step",
    "probe_terms",
    "report",
    "residual_terms",
    "stein_terms",
    "sure_shrinkage",
]


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
    parts: str = "all",
    common: bool = False,
    view_bias: str = "ignore",
) -> tuple[Tensor, GateReport]:
    """Shrink a refiner's (definition-keeping) output toward triangulation (module docstring).

    Args:
        refine: (2D (N, 2, J, 2), its triangulation (N, J, 3)) -> (N, J, 3) refined poses with its
            definitions kept, the same function that produced ``kept`` (called again on probed input,
            with the probed input's triangulation, which the gate has computed already).
        u: (N, 2, J, 2) px. P: (N, 2, 3, 4). T: (N, J, 3) the triangulation of ``u`` (with ``conf``).
        kept: (N, J, 3) ``refine(u)``. conf: optional (N, 2, J) confidences.
        z: standard errors of caution (:func:`sure_shrinkage`; :data:`LCB_Z` for a 90 % bound).
        parts: one shrinkage for all ("all"), one per joint ("joints"), or one for the correction's
            per-frame mean over the joints and one for the rest ("split"): the risk estimate is a sum
            over joints, and over those two orthogonal parts.
        common: probes with a per-frame part shared by all joints (:meth:`ResidualSums.noise`).
        view_bias: "hold-position": keep triangulation's position where the views disagree by a
            constant (:func:`held_parts`).
    Returns:
        (N, J, 3) ``T + alpha * (kept - T)``, and the report.
    """
    sums = ResidualSums.of(*residual_terms(u, P, T, conf))
    noise_rel = float(sums.var().mean().sqrt())
    if noise_rel <= 0 or len(u) == 0:
        return T.clone(), GateReport(0.0, noise_rel, 0.0, len(u))
    terms = probe_terms(refine, u, P, T, kept, conf, sums.noise(common), probe_count(len(u)), seed)
    finite = int(torch.isfinite(kept - T).all(-1).sum())
    alpha, risk = SteinSums.of(terms, finite).shrinkage(z, held_parts(parts, sums, view_bias))
    return blend(T, kept, alpha), report(alpha, noise_rel, risk, len(u))
