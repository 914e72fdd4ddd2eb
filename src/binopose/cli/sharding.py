"""Batch work under torchrun (`binopose refine`, `binopose eval`): every rank reads the same input, the
refiner's network passes are split into whole chunks over the ranks (contiguous, in order), every rank
gathers the whole result, and rank 0 alone prints and writes (docs/SCALING.md). Without torchrun nothing
changes."""

from __future__ import annotations

import argparse
import dataclasses

from binopose.errors import BinoposeError


def add_chunk(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--chunk",
        type=int,
        metavar="N",
        help="poses per refiner chunk, the unit of work one rank takes under torchrun "
        "(default: 32768 on the CPU, 131072 on a GPU)",
    )


def chunk_setting(args: argparse.Namespace) -> dict:
    """``{"chunk": N}`` when --chunk was given (checked), else nothing."""
    if args.chunk is None:
        return {}
    if args.chunk < 1:
        raise BinoposeError(f"--chunk must be at least 1, got {args.chunk}")
    return {"chunk": args.chunk}


def sharded(refiner: object, args: argparse.Namespace, active: bool) -> object:
    """``refiner`` with --chunk applied and, in a process group, its network passes split over the ranks."""
    changes = chunk_setting(args) | ({"distributed": True} if active else {})
    return dataclasses.replace(refiner, **changes) if changes and refiner is not None else refiner
