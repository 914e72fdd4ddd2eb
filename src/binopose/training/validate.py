"""Validation during training (held-out poses on virtual rigs, each 2D error model at sigma = 1), and
the default start levels chosen on the same poses when training ends."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from binopose.data.corpora import PoseCorpus
from binopose.data.noise import ErrorModel2D, sample_errors
from binopose.data.synth import AugmentConfig, CleanBatch, make_batch
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.sampling import refine_2d
from binopose.diffusion.schedule import Schedule
from binopose.geometry import triangulate
from binopose.io_utils import atomic_write
from binopose.refiner import Refiner

if TYPE_CHECKING:  # train.py imports this module
    from binopose.training.train import TrainConfig


def _noisy_input(batch: CleanBatch, model: ErrorModel2D, level: float, seed: int) -> tuple:
    """``batch``'s clean 2D plus ``model``'s errors at ``level`` (drawn on the CPU with ``seed``, so every
    device sees the same), its triangulation, and which poses triangulate."""
    gen = torch.Generator().manual_seed(seed)
    sigma = torch.full((batch.X.shape[0],), float(level))
    e = sample_errors(model, batch.scale_px.cpu(), sigma, gen, with_bias=False).to(batch.u.device)
    u = batch.u + e.double()
    tri = triangulate(u, batch.P)
    return u, tri, torch.isfinite(tri).all(-1).all(-1)


@torch.no_grad()
def validation_mpjpe(
    net: torch.nn.Module, val: dict, schedule: Schedule, cond: Conditioning
) -> dict[str, float]:
    """MPJPE (mm) of plain triangulation and of one-step refinement, per error model (the network fed
    as ``cond`` says)."""
    net.eval()
    b = val["batch"]
    out = {}
    for m in val["models"]:
        u, tri, ok = _noisy_input(b, m, 1.0, val["gen_seed"])
        u, _ = cond.root_input(u)  # as the refiner does
        profile = cond.root_profile(torch.from_numpy(m.joint_profile()))

        def denoise(X, s, B, ev):
            x0, ls = net(X.float(), s.float(), B.float(), ev.float())
            return x0.double(), ls

        res = refine_2d(
            denoise,
            u[ok],
            b.P[ok],
            b.baseline[ok],
            b.scale_px[ok],
            schedule.sampling_sigmas(1.0, 1),
            error_model=m,
            profile=profile,
        )
        gt = b.X[ok]
        out[f"tri/{m.name}"] = float((tri[ok] - gt).norm(dim=-1).mean())
        out[f"dd/{m.name}"] = float((res.poses - gt).norm(dim=-1).mean())
    return out


#: true 2D error levels (multiples of a family's fitted size) over which a default start level must hold
TRUE_LEVELS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4)
#: start levels a family's default is chosen from
START_LEVELS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4)


@torch.no_grad()
def level_table(refiner: Refiner, batch: CleanBatch, model: ErrorModel2D, seed: int = 777) -> np.ndarray:
    """MPJPE of refinement over that of plain triangulation, (len(TRUE_LEVELS), len(START_LEVELS)):
    held-out poses on virtual rigs with ``model``'s errors at each true level, refined from each start
    level (the refiner told the input's family, as an input that the statistics do not describe is)."""
    batch = batch.to("cpu")  # the refiner's results come back on the CPU
    out = np.empty((len(TRUE_LEVELS), len(START_LEVELS)))
    for i, t in enumerate(TRUE_LEVELS):
        u, tri, ok = _noisy_input(batch, model, t, seed)
        base = float((tri[ok] - batch.X[ok]).norm(dim=-1).mean())
        for j, s in enumerate(START_LEVELS):
            opts = dataclasses.replace(refiner.options, noise_kind=model.name, start_sigma=s)
            poses = refiner.network_pass(u[ok], batch.P[ok], None, opts)  # the network, no gate
            out[i, j] = float((poses - batch.X[ok]).norm(dim=-1).mean()) / base
    return out


def minimax_level(table: np.ndarray) -> float:
    """The start level whose worst excess over the best start level, across the true levels, is
    smallest (``table`` from :func:`level_table`): the safe default when the input's level is unknown."""
    regret = (table - table.min(1, keepdims=True)).max(0)
    return float(START_LEVELS[int(np.argmin(regret))])


def with_default_levels(
    refiner: Refiner, batch: CleanBatch, measured: set[str]
) -> tuple[dict[str, ErrorModel2D], dict[str, list[list[float]]]]:
    """The refiner's error families with ``default_level`` set, and the tables behind them.

    A family whose size was measured on a real detector (``measured``) keeps level 1: its inputs are
    as large as it says. Any other family's size is a guess (the stereo-aware preset), and an input's
    level cannot be read from a stereo-aware pair (it reprojects exactly): it gets the
    :func:`minimax_level` of its :func:`level_table`, since starting too high smooths a quiet detector's
    pose far more than starting too low leaves of a noisy one's."""
    models, tables = {}, {}
    for name, m in refiner.error_models.items():
        level = 1.0
        if name not in measured:
            table = level_table(refiner, batch, m)
            tables[name] = table.round(4).tolist()
            level = minimax_level(table)
        models[name] = dataclasses.replace(m, default_level=level)
    return models, tables


def plot_level_tables(tables: dict[str, list], levels: dict[str, float], path: str | os.PathLike) -> None:
    """Draw the tables of :func:`with_default_levels` as heat maps, one per family (PNG at ``path``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        t = np.asarray(table)
        im = ax.imshow(t, cmap="RdBu_r", vmin=0.7, vmax=1.3, origin="lower", aspect="auto")
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                ax.text(j, i, f"{t[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(START_LEVELS)), [str(s) for s in START_LEVELS])
        ax.set_yticks(range(len(TRUE_LEVELS)), [str(s) for s in TRUE_LEVELS])
        ax.set_xlabel("start level of refinement")
        ax.set_ylabel("true level of the 2D errors")
        ax.set_title(f"{name}: MPJPE / triangulation's (default {levels[name]})")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def validation_set(
    val_poses: PoseCorpus,
    cfg: TrainConfig,
    models: list[ErrorModel2D],
    weights: list[float],
    device: torch.device | str = "cpu",
) -> dict:
    """Fixed validation batches (seeded): held-out poses, virtual rigs, each error model at sigma = 1.
    Drawn on the CPU whatever the device, so that every device validates on the same poses."""
    gen = torch.Generator().manual_seed(12345)
    n = min(cfg.val_size, len(val_poses))
    idx = torch.from_numpy(np.random.default_rng(0).choice(len(val_poses), n, replace=False))
    batch = make_batch(torch.from_numpy(val_poses.poses)[idx], cfg.rig, AugmentConfig(mirror_prob=0.0), gen)
    return {"batch": batch.to(device), "models": models, "gen_seed": 777}
