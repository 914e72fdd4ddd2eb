"""Train a Dual-Diffusion refiner from 3D pose corpora on virtual stereo rigs. The run folder (option
'out' of the config) gets the resolved config, a log, a loss/MPJPE plot, a checkpoint (an interrupted run
resumes from it when started again with the same config) and the final model in <out>/model/."""

from __future__ import annotations

import argparse

from binopose.config import load_config
from binopose.distributed import is_main
from binopose.io_utils import check_output
from binopose.training.train import TrainConfig, train


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", metavar="FILE", help="YAML config (e.g. configs/default.yaml); defaults otherwise"
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override config entries, dotted for nesting: steps=2000 model.dim=96",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(TrainConfig, args.config, args.overrides)
    inputs = {"--config": args.config, "real_pairs.path": cfg.real_pairs.path or None}
    inputs |= {"noise.fit_from": cfg.noise.fit_from or None}
    inputs |= {f"corpora[{i}]": c.path for i, c in enumerate(cfg.corpora)}
    check_output(cfg.out, inputs, folder=True)
    folder = train(cfg, progress=not args.no_progress)  # under torchrun: DDP over the ranks
    if is_main():
        print(f"model written to {folder}")
    return 0
