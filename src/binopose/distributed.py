"""torch.distributed, as binopose uses it: a process group when ``torchrun`` started the process, else
one process that does everything (every helper below is then the identity).

``torchrun`` (or any launcher that sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``) starts one process per rank; :func:`process_group` joins them with NCCL when the work
runs on a GPU (each rank on GPU ``LOCAL_RANK``) and with gloo on the CPU. docs/SCALING.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist

from binopose.errors import BinoposeError

#: what torchrun sets in every worker's environment (the env:// rendezvous)
LAUNCH_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def launched() -> bool:
    """Whether a distributed launcher (torchrun) started this process."""
    return all(k in os.environ for k in LAUNCH_ENV)


def active() -> bool:
    """Whether this process is one rank of an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if active() else 0


def world() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Whether this process writes files and reports: the only one, or rank 0 of a distributed run (also
    before and after the group, from torchrun's ``RANK``)."""
    if active():
        return dist.get_rank() == 0
    return not launched() or os.environ["RANK"] == "0"


@contextmanager
def process_group(device: str = "cpu") -> Iterator[bool]:
    """Join the ranks that torchrun started (NCCL for ``device`` cuda*, gloo otherwise) for the body and
    leave the group afterwards; without torchrun (or inside a group already joined) nothing happens.
    Yields whether this process is part of a group."""
    if not launched() or active():
        yield active()
        return
    gpu = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if gpu:
        if not torch.cuda.is_available():
            raise BinoposeError(f"device {device!r}: no CUDA GPU is visible to rank {os.environ['RANK']}")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if local >= torch.cuda.device_count():
            raise BinoposeError(
                f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s): start at most that many "
                "processes per node (torchrun --nproc-per-node)"
            )
        torch.cuda.set_device(local)  # "cuda" is now this rank's GPU
    dist.init_process_group("nccl" if gpu else "gloo")
    try:
        yield True
    finally:
        dist.destroy_process_group()


def shard(n: int, unit: int) -> slice:
    """This rank's contiguous share of ``n`` items cut into whole units of ``unit`` items: the units are
    dealt out in order, the first ``units % world`` ranks get one more (a rank may get none)."""
    units = -(-n // max(1, unit))
    per, extra = divmod(units, world())
    r = rank()
    first = r * per + min(r, extra)
    last = first + per + (1 if r < extra else 0)
    return slice(min(n, first * unit), min(n, last * unit))


def gather_rows(part: torch.Tensor) -> torch.Tensor:
    """Every rank's ``part`` (rows of one array, in rank order) concatenated, on every rank."""
    if not active():
        return part
    parts: list = [None] * world()
    dist.all_gather_object(parts, part.cpu())
    return torch.cat(parts).to(part.device)


def gather_objects(obj: object) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not active():
        return [obj]
    out: list = [None] * world()
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: object) -> object:
    """Rank 0's ``obj`` on every rank."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean(values: dict[str, float]) -> dict[str, float]:
    """The mean over the ranks of each value (every rank must pass the same keys)."""
    if not active() or not values:
        return values
    t = torch.tensor([values[k] for k in sorted(values)], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return {k: float(v) / world() for k, v in zip(sorted(values), t.tolist())}
