"""Training under torchrun: DistributedDataParallel and the data stream of each rank.

- ``batch_size`` in the config is the *global* batch: each of W ranks draws ``batch_size / W`` samples,
  DDP averages the gradients (the loss is a mean over the batch), so one optimiser step sees the same
  number of samples whatever W is, and the learning-rate schedule needs no change.
- Each rank's generator is re-seeded at every step from ``(seed, step, rank)``: the position of every
  rank's stream is the step counter, which the checkpoint holds. A resume with the same world size
  continues the same streams; a resume with another world size draws fresh streams from the same
  synthetic distribution (nothing is repeated; there are no epochs to keep track of). The checkpoint
  is the same file whatever the world size (rank 0's weights, EMA, optimiser moments and generator).
- A single process (no torchrun) keeps its one sequential stream, checkpointed with the generator's
  state, exactly as before distributed training existed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from binopose import distributed
from binopose.checkpoint import load_checkpoint
from binopose.errors import BinoposeError


def local_batch(batch_size: int) -> int:
    """This rank's share of the global batch."""
    w = distributed.world()
    if batch_size % w:
        raise BinoposeError(f"batch_size {batch_size} is not divisible by the world size {w}")
    return batch_size // w


def wrap(net: nn.Module, dev: torch.device, all_used: bool = True) -> nn.Module:
    """The module a training step calls: ``net`` itself, or its DDP wrapper (which broadcasts rank 0's
    weights now and all-reduces the gradients in every backward pass). ``all_used``: every parameter
    gets a gradient in every step (False: the loss leaves some out, e.g. the uncertainty head)."""
    if not distributed.active():
        return net
    if dev.type != "cuda":
        return DistributedDataParallel(net, find_unused_parameters=not all_used)
    index = torch.cuda.current_device() if dev.index is None else dev.index
    return DistributedDataParallel(net, device_ids=[index], find_unused_parameters=not all_used)


def reseed(gen: torch.Generator, seed: int, step: int) -> None:
    """Distributed runs only: this rank's generator for ``step`` (a function of seed, step and rank)."""
    if distributed.active():
        words = np.random.SeedSequence([seed, step, distributed.rank()]).generate_state(2, np.uint32)
        gen.manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def read_checkpoint(path: Path) -> tuple[dict, dict] | None:
    """The checkpoint as rank 0 reads it, on every rank (the other ranks need no shared file system);
    None when there is none."""
    got = (load_checkpoint(path) if path.exists() else None) if distributed.is_main() else None
    return distributed.broadcast(got)  # type: ignore[return-value]
