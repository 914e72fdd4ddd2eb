"""What a training process keeps and writes: checkpoint tensors (weights, EMA, optimiser state, random
generator), the training plot, and who writes at all (the main process) with which seed (per rank)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from binopose.io_utils import atomic_write


def is_main() -> bool:
    """Whether this process writes files: the only one, or rank 0 of a distributed run."""
    return not dist.is_initialized() or dist.get_rank() == 0


def process_seed(seed: int) -> int:
    """This process's seed: ``seed + rank`` (each rank of a distributed run draws its own batches)."""
    return seed + (dist.get_rank() if dist.is_initialized() else 0)


def cpu_tensors(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}


def checkpoint_tensors(
    net: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator
) -> dict:
    t = {f"model.{k}": v for k, v in net.state_dict().items()}
    t.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    for i, s in opt.state_dict()["state"].items():
        t.update({f"optim.{i}.{k}": torch.as_tensor(v) for k, v in s.items()})
    t["rng"] = gen.get_state()
    return cpu_tensors(t)


def restore(
    tensors: dict, net: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator
) -> None:
    def sub(prefix: str) -> dict:
        return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

    net.load_state_dict(sub("model."))
    ema.load_state_dict(sub("ema."))
    sd = opt.state_dict()
    state: dict = {}
    for k, v in sub("optim.").items():
        i, name = k.split(".", 1)
        state.setdefault(int(i), {})[name] = v
    sd["state"] = state
    opt.load_state_dict(sd)
    gen.set_state(tensors["rng"])


def plot_training(log: list[dict], path: Path) -> None:
    """The training loss and the validation MPJPE over the steps (PNG at ``path``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    tr = [r for r in log if "loss_3d_mm" in r]
    axes[0].plot([r["step"] for r in tr], [r["loss_3d_mm"] for r in tr], lw=0.8)
    axes[0].set(xlabel="step", ylabel="training MPJPE (mm)", yscale="log", title="training loss")
    va = [r for r in log if "val" in r]
    for key in sorted({k for r in va for k in r["val"]}):
        axes[1].plot([r["step"] for r in va], [r["val"][key] for r in va], marker="o", ms=3, label=key)
    axes[1].set(xlabel="step", ylabel="MPJPE (mm)", title="validation (held-out poses, virtual rigs)")
    if va:
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, decay: float) -> None:
    for pe, pn in zip(ema.parameters(), net.parameters()):
        pe.lerp_(pn, 1 - decay)
