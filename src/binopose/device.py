"""Where binopose computes: the CPU by default, a CUDA GPU when asked for (``cuda``, ``cuda:N``, ``auto``)."""

from __future__ import annotations

import torch

from binopose.errors import BinoposeError


def resolve_device(name: str) -> torch.device:
    """``auto``: the GPU when there is one, else the CPU; a GPU that is asked for must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise BinoposeError(f"device must be cpu, cuda, cuda:N or auto, got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BinoposeError(f"device {name!r}: no CUDA GPU is available to torch here")
    if dev.type not in ("cpu", "cuda"):
        raise BinoposeError(f"device must be cpu, cuda, cuda:N or auto, got {name!r}")
    return dev
