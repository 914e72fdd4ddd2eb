"""Training policy: a share of each batch is a real detector's output (:mod:`binopose.data.real_pairs`),
scored by the same supervised loss as the synthetic noise."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from binopose.data.noise import ErrorModel2D
from binopose.data.real_pairs import RealPairs, RealPairsConfig, load_real_pairs
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.loss import LossConfig, supervised_loss
from binopose.errors import BinoposeError
from binopose.geometry import triangulate


def real_pairs_loss(
    net: nn.Module,
    pairs: RealPairs,
    idx: Tensor,
    cfg: LossConfig,
    gen: torch.Generator | None = None,
    level_jitter: float = 0.0,
    *,
    cond: Conditioning,
) -> tuple[Tensor, dict[str, float]]:
    """The loss on real detector output at its matched level, times ``exp(level_jitter * z)`` per
    sample (z standard normal, drawn with ``gen``): a level that is always the same would let the
    network treat that one level as a flag for this detector. The input follows ``cond``'s root rule."""
    u, batch = pairs.take(idx)
    u, _ = cond.root_input(u)
    profile = cond.root_profile(pairs.profile.expand(len(idx), -1))
    sigma = torch.full((len(idx),), pairs.sigma, dtype=torch.float64, device=u.device)
    if level_jitter > 0:
        if gen is None:
            raise ValueError("level_jitter needs a random generator")
        z = torch.randn(len(idx), generator=gen, dtype=torch.float64, device=gen.device)
        sigma = sigma * torch.exp(level_jitter * z.to(u.device))
    return supervised_loss(net, u, triangulate(u, batch.P), batch, sigma, profile, cfg)


def real_share(batch_size: int, fraction: float, pairs: RealPairs | None) -> int:
    """How many of a batch's samples are real pairs (none without pairs; at least one, never all)."""
    return 0 if pairs is None else max(1, min(batch_size - 1, round(batch_size * fraction)))


def mix_real_pairs(
    loss: Tensor,
    stats: dict[str, float],
    net: nn.Module,
    pairs: RealPairs,
    n_real: int,
    batch_size: int,
    cfg: LossConfig,
    gen: torch.Generator,
    level_jitter: float,
    cond: Conditioning,
) -> Tensor:
    """The synthetic batch's ``loss`` mixed with that of ``n_real`` real pairs drawn with ``gen``, weighted
    by their shares of the batch; records the real pairs' MPJPE in ``stats``."""
    idx = torch.randint(0, len(pairs), (n_real,), generator=gen, device=gen.device)
    loss_real, st = real_pairs_loss(net, pairs, idx, cfg, gen, level_jitter, cond=cond)
    f = n_real / batch_size
    stats["real_3d_mm"] = st["loss_3d_mm"]
    return (1 - f) * loss + f * loss_real


def build_real_pairs(cfg: RealPairsConfig, models: list[ErrorModel2D], dev: torch.device) -> RealPairs | None:
    """The real pairs the config asks for, on ``dev`` (None when it asks for none)."""
    family = {m.name: m for m in models}
    if cfg.fraction > 0 and cfg.family not in family:
        raise BinoposeError(f"real_pairs.family must be one of {sorted(family)}, got {cfg.family!r}")
    real = load_real_pairs(cfg, family.get(cfg.family, models[0]))
    return None if real is None else real.to(dev)
