"""The One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) on joint positions over time.

:class:`OneEuro` is the filter itself: causal, one frame at a time, each output depends only on the
frames given so far (``binopose live`` uses it as is). :func:`one_euro_causal` runs it over a whole
sequence; :func:`one_euro` (``binopose run --smooth oneeuro``) runs it forward and backward and
averages the two so the lag cancels, which needs the whole clip.
"""

from __future__ import annotations

import numpy as np

from binopose.errors import BinoposeError


class OneEuro:
    """Causal One-Euro filter over (J, D) points (J joints of D coordinates).

    The joint speed (norm over D, units/s) raises the cutoff: ``fc = min_cutoff + beta * |dx/dt|``.
    A joint that is NaN in the input or was NaN in the previous output restarts the filter there.
    """

    def __init__(
        self, fps: float, min_cutoff_hz: float = 1.0, beta: float = 0.005, d_cutoff_hz: float = 1.0
    ) -> None:
        if not fps > 0:
            raise BinoposeError(f"One-Euro smoothing needs a positive frame rate, got {fps}")
        self.fps, self.min_cutoff_hz, self.beta, self.d_cutoff_hz = fps, min_cutoff_hz, beta, d_cutoff_hz
        self.prev: np.ndarray | None = None  # (J, D) last output
        self.dprev: np.ndarray | None = None  # (J,) filtered speed

    @staticmethod
    def _alpha(fc: np.ndarray | float, dt: float) -> np.ndarray:
        tau = 1.0 / (2 * np.pi * np.asarray(fc))
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, dt: float | None = None) -> np.ndarray:
        """Filter one frame: (J, D) -> (J, D). ``dt``: seconds since the previous frame given
        (default ``1 / fps``; live streams that drop frames pass the real gap)."""
        dt = 1.0 / self.fps if dt is None else dt
        if self.prev is None:
            self.prev, self.dprev = np.full(x.shape, np.nan), np.zeros(x.shape[:-1])
        restart = ~np.isfinite(self.prev).all(-1)
        dx = np.where(restart, 0.0, np.linalg.norm(x - self.prev, axis=-1) / dt)
        self.dprev = np.where(
            restart, 0.0, self.dprev + self._alpha(self.d_cutoff_hz, dt) * (dx - self.dprev)
        )
        a = self._alpha(self.min_cutoff_hz + self.beta * self.dprev, dt)[..., None]
        self.prev = np.where(restart[..., None], x, self.prev + a * (x - self.prev))
        return self.prev.copy()


def one_euro_causal(
    x: np.ndarray, fps: float, min_cutoff_hz: float = 1.0, beta: float = 0.005, d_cutoff_hz: float = 1.0
) -> np.ndarray:
    """(N, J, D) -> (N, J, D): :class:`OneEuro` run forward over the frames (lags behind fast motion)."""
    f = OneEuro(fps, min_cutoff_hz, beta, d_cutoff_hz)
    out = np.array(x, dtype=np.float64, copy=True)
    for i in range(len(out)):
        out[i] = f(out[i])
    return out


def one_euro(
    x: np.ndarray, fps: float, min_cutoff_hz: float = 1.0, beta: float = 0.005, d_cutoff_hz: float = 1.0
) -> np.ndarray:
    """One-Euro over time, run forward and backward and averaged so the lag cancels (offline only).
    x: (N, J, D), NaN restarts the filter."""
    fwd = one_euro_causal(x, fps, min_cutoff_hz, beta, d_cutoff_hz)
    bwd = one_euro_causal(x[::-1], fps, min_cutoff_hz, beta, d_cutoff_hz)[::-1]
    return 0.5 * (fwd + bwd)
