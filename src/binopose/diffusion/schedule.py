"""The noise schedule of the 2D forward process, variance-exploding (Karras et al. 2022, "EDM").

The noisy 2D keypoints at step t are ``u_t = u_0 + sigma_t * e`` with ``e`` drawn from the 2D error
model (so ``sigma = 1`` is exactly the detector's error as fitted). ``sigma_0 = 0`` and the levels grow
linearly to ``sigma_max``; they are computed once, in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class Schedule:
    steps: int = 100
    sigma_max: float = 2.5

    def __post_init__(self) -> None:
        if self.steps < 1 or not self.sigma_max > 0:
            raise ValueError(
                f"schedule needs steps >= 1 and sigma_max > 0, got {self.steps}, {self.sigma_max}"
            )

    @property
    def sigmas(self) -> np.ndarray:
        """(steps + 1,) float64 noise levels, sigma_0 = 0 < ... < sigma_T = sigma_max."""
        return _grid(self.steps, self.sigma_max).copy()

    def step_for_sigma(self, sigma: float) -> int:
        """The step whose noise level is closest to ``sigma`` (clipped to [1, steps])."""
        return int(np.clip(np.abs(_grid(self.steps, self.sigma_max) - sigma).argmin(), 1, self.steps))

    def sample_steps(self, n: int, gen: torch.Generator) -> Tensor:
        """(n,) training steps in [1, steps], antithetic: the second half mirrors the first."""
        half = (n + 1) // 2
        t = torch.randint(1, self.steps + 1, (half,), generator=gen, device=gen.device)
        return torch.cat([t, self.steps + 1 - t])[:n]

    def sigma_of(self, t: Tensor) -> Tensor:
        return torch.as_tensor(_grid(self.steps, self.sigma_max), dtype=torch.float64, device=t.device)[t]

    def sampling_sigmas(self, start_sigma: float, n_steps: int) -> list[float]:
        """Noise levels visited by the sampler: ``n_steps`` steps from the grid level nearest to
        ``start_sigma`` down to 0 (uniform in step index, DDIM's "uniform" skip)."""
        return list(_sampling_sigmas(self.steps, self.sigma_max, self.step_for_sigma(start_sigma), n_steps))


@lru_cache(maxsize=64)
def _grid(steps: int, sigma_max: float) -> np.ndarray:
    return np.linspace(0.0, sigma_max, steps + 1)  # internal: never handed out (``sigmas`` copies)


@lru_cache(maxsize=256)
def _sampling_sigmas(steps: int, sigma_max: float, t0: int, n_steps: int) -> tuple[float, ...]:
    ts = np.unique(np.round(np.linspace(t0, 0, n_steps + 1)).astype(int))[::-1]
    return tuple(float(_grid(steps, sigma_max)[t]) for t in ts)
