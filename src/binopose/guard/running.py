"""The do-no-harm evidence of a recording that arrives a frame at a time (``binopose live``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from binopose.guard.noise import ResidualSums, held_parts, residual_terms
from binopose.guard.stein import FrameTerms, GateReport, SteinSums, blend, probe_count, probe_terms, report
from binopose.offsets import KEEP_PRIOR_FRAMES, body_corrections, remove_body_offset

#: frames of evidence a running input (binopose live) keeps, and how many it needs before it corrects
WINDOW_FRAMES = 300
MIN_FRAMES = 10


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
        return self._remove(refined, triangulated, (R, d, ok), joints)

    def keep_fixed(
        self, refined: np.ndarray, triangulated: np.ndarray, joints: np.ndarray | None = None
    ) -> np.ndarray:
        """As :meth:`keep` for other values of the same new frames (the gate's probes), without adding
        them to the evidence: the offset is the window's older frames' and these frames' mean."""
        return self._remove(refined, triangulated, body_corrections(refined, triangulated), joints)

    def _remove(
        self, refined: np.ndarray, triangulated: np.ndarray, corrections: tuple, joints: np.ndarray | None
    ) -> np.ndarray:
        R, d, ok = corrections
        n = self._older_n + len(d)
        s = (self._older + d.sum(0)) / (n + KEEP_PRIOR_FRAMES) if n else np.zeros(refined.shape[1:])
        return remove_body_offset(refined, R, s, ok, joints, triangulated)

    def gate(
        self,
        refine: Callable[[Tensor, Tensor], Tensor],
        u: Tensor,
        P: Tensor,
        T: Tensor,
        kept: Tensor,
        conf: Tensor | None = None,
        z: float = 0.0,
        parts: str = "all",
        common: bool = False,
        view_bias: str = "ignore",
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
        t = probe_terms(refine, u, P, T, kept, conf, sums.noise(common), rounds, seed)
        self._calls += 1
        joints = torch.isfinite(kept - T).all(-1).sum(-1)
        self._push(self._terms, zip(zip(*t), joints.tolist()))
        n = len(self._terms)
        if n < self.min_frames:
            return T.clone(), GateReport(0.0, noise_rel, 0.0, n)
        frames, J = zip(*self._terms)
        window = FrameTerms(*(torch.stack(x) for x in zip(*frames)))
        alpha, risk = SteinSums.of(window, sum(J)).shrinkage(z, held_parts(parts, sums, view_bias))
        return blend(T, kept, alpha), report(alpha, noise_rel, risk, n)
