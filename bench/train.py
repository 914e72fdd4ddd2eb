"""Speed of the full Dual-Diffusion training step: samples/s and peak memory at several batch sizes.

    python bench/train.py [--batches 256 1024 4096] [--steps 5] [--device cuda] [--json OUT]

One step is what ``binopose train`` does: draw poses, augment, place them in front of random
virtual rigs and project (batch generation), the dual forward process (2D noise + triangulation),
the loss, backward, gradient clipping, AdamW and the EMA update. The model is randomly initialised
from the ``model`` section of ``configs/default.yaml``; the 2D error models are the generic
presets (``noise.fit_from: ""``; a fitted model has the same cost). Each batch size runs in a fresh
subprocess (peak resident memory ``ru_maxrss`` is its own); the rate is the best of ``--steps``
timed steps after two warm-up steps. With ``--device cuda`` everything, batch generation included, runs on
the GPU (times are taken after a synchronisation) and the rows add the GPU's peak allocated memory.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refine import add_common, bench_start, default_model_config, print_table, run_isolated  # noqa: E402

from binopose.io_utils import json_text


def run_case(case: dict) -> dict:
    import torch

    from binopose.config import from_dict
    from binopose.data.presets import NoiseConfig, build_error_models
    from binopose.data.rigs import RigConfig
    from binopose.data.synth import AugmentConfig, make_batch
    from binopose.diffusion.conditioning import Conditioning
    from binopose.diffusion.loss import LossConfig, denoising_loss
    from binopose.diffusion.schedule import Schedule
    from binopose.model import Denoiser, DenoiserConfig

    dev = torch.device(case.get("device", "cpu"))
    torch.manual_seed(0)
    cfg = from_dict(DenoiserConfig, default_model_config())
    net, ema = Denoiser(cfg).to(dev), Denoiser(cfg).to(dev)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    models, weights = build_error_models(NoiseConfig())
    gen = torch.Generator(device=dev).manual_seed(0)
    pool = (
        torch.randn(20000, 17, 3, generator=gen, device=dev) * 250
    )  # poses (world, mm); their shape costs nothing
    rig, aug, schedule, loss_cfg = RigConfig(), AugmentConfig(), Schedule(), LossConfig()
    B = case["batch"]

    def step() -> None:
        idx = torch.randint(0, len(pool), (B,), generator=gen, device=dev)
        batch = make_batch(pool[idx], rig, aug, gen)
        net.train()
        loss, _ = denoising_loss(net, batch, schedule, models, weights, loss_cfg, gen, cond=Conditioning())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pn in zip(ema.parameters(), net.parameters()):
                pe.lerp_(pn, 0.001)

    for _ in range(2):
        step()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    times = []
    for _ in range(case["steps"]):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return {"seconds_per_step": min(times), "samples_per_s": B / min(times)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[256, 1024, 4096])
    p.add_argument("--steps", type=int, default=5, help="timed steps per batch size")
    add_common(p)
    args = p.parse_args(argv)
    head = bench_start(args, run_case)
    if head is None:
        return 0
    command, info = head
    rows = [
        {
            "batch": b,
            "device": args.device,
            **run_isolated(
                Path(__file__), {"batch": b, "steps": args.steps, "device": args.device}, args.threads
            ),
        }
        for b in args.batches
    ]
    print_table(rows, ["device", "batch", "samples_per_s", "seconds_per_step", "peak_rss_mb", "peak_gpu_mb"])
    if args.json:
        Path(args.json).write_text(json_text({"command": command, "machine": info, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
