"""Training a Dual-Diffusion refiner from 3D pose corpora and virtual stereo rigs.

``train(cfg)`` runs in a folder with the resolved config, a JSON-lines log, a loss/MPJPE plot,
``checkpoint.safetensors`` (resumed automatically) and, at the end, the model folder ``model/``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from binopose import distributed
from binopose.bundle import write_bundle
from binopose.checkpoint import save_checkpoint
from binopose.config import to_dict
from binopose.config_checks import check_resume, check_train_config
from binopose.data.corpora import PoseCorpus, concat, load_corpus, split_by_group
from binopose.data.noise import ErrorModel2D
from binopose.data.presets import NoiseConfig, build_error_models, measured_families
from binopose.data.real_pairs import RealPairs, RealPairsConfig
from binopose.data.rigs import RigConfig
from binopose.data.synth import AugmentConfig, CleanBatch, make_batch
from binopose.device import resolve_device
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.loss import LossConfig, denoising_loss
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write_json, atomic_write_text, json_text
from binopose.model import Denoiser, DenoiserConfig
from binopose.refiner import Refiner
from binopose.training.distributed import local_batch, read_checkpoint, reseed, wrap
from binopose.training.real_pairs import build_real_pairs, mix_real_pairs, real_share
from binopose.training.state import (
    checkpoint_tensors,
    cpu_tensors,
    is_main,
    plot_training,
    process_seed,
    restore,
    update_ema,
)
from binopose.training.validate import (
    plot_level_tables,
    validation_mpjpe,
    validation_set,
    with_default_levels,
)


@dataclass(frozen=True)
class CorpusSpec:
    path: str
    stride: int = 1


@dataclass(frozen=True)
class TrainConfig:
    out: str = "runs/default"
    seed: int = 0
    steps: int = 20000
    batch_size: int = 1024
    lr: float = 2e-3
    warmup: int = 500
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    ckpt_every: int = 500
    val_every: int = 1000
    val_size: int = 4096
    snapshots: bool = False  # also keep the EMA model of every validation step in <out>/snapshots/step_N
    corpora: list[CorpusSpec] = field(default_factory=list)
    holdout_subjects: list[str] = field(default_factory=lambda: ["S8"])
    holdout_every_nth_clip: int = 10
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    rig: RigConfig = field(default_factory=RigConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    schedule: Schedule = field(default_factory=Schedule)
    model: DenoiserConfig = field(default_factory=DenoiserConfig)
    conditioning: Conditioning = field(default_factory=Conditioning)
    loss: LossConfig = field(default_factory=LossConfig)
    real_pairs: RealPairsConfig = field(default_factory=RealPairsConfig)
    threads: int = 0  # torch threads (0: leave torch's default)
    device: str = "cpu"  # where batches are drawn and the network runs: cpu, cuda, cuda:N or auto


def load_poses(cfg: TrainConfig) -> tuple[PoseCorpus, PoseCorpus]:
    if not cfg.corpora:
        raise BinoposeError("config: 'corpora' is empty: list at least one 3D pose corpus (path, stride)")
    corpus = concat([load_corpus(c.path, c.stride) for c in cfg.corpora])
    train, val = split_by_group(corpus, cfg.holdout_subjects, cfg.holdout_every_nth_clip)
    if len(train) == 0 or len(val) == 0:
        raise BinoposeError(
            f"config: the training/validation split is empty ({len(train)} / {len(val)} poses)"
        )
    return train, val


def _lr(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


LossAndStats = tuple[torch.Tensor, dict[str, float]]


@dataclass
class Run:
    """A training run's state between steps (what a checkpoint saves, plus what set-up built)."""

    cfg: TrainConfig
    dev: torch.device
    out: Path
    net: Denoiser
    ema: Denoiser
    opt: torch.optim.Optimizer
    gen: torch.Generator
    pool: torch.Tensor  # (n, J, 3) training poses on the device
    val: dict
    models: list[ErrorModel2D]
    weights: list[float]
    real: RealPairs | None
    n_real: int  # real pairs per batch (of this rank's share)
    model: nn.Module  # what a step calls: ``net``, or its DistributedDataParallel wrapper
    batch: int  # this rank's share of the batch (the whole batch without torchrun)
    step: int = 0
    log: list[dict] = field(default_factory=list)


def setup(cfg: TrainConfig) -> Run:
    """Read the poses and error models, build the networks, resume from the checkpoint if there is one."""
    check_train_config(cfg)
    dev = resolve_device(cfg.device)  # before anything is written or loaded
    out = Path(cfg.out)
    batch = local_batch(cfg.batch_size)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if is_main():  # only rank 0 reads and writes the run folder (no shared file system needed)
        check_resume(out / "config.json", to_dict(cfg), resuming=(out / "checkpoint.safetensors").exists())
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "config.json", to_dict(cfg))
    train_poses, val_poses = load_poses(cfg)
    models, weights = build_error_models(cfg.noise)
    real = build_real_pairs(cfg.real_pairs, models, dev)
    seed = process_seed(cfg.seed)
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    net = Denoiser(cfg.model, cfg.conditioning.evidence_width).to(dev)
    ema = Denoiser(cfg.model, cfg.conditioning.evidence_width).to(dev)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device=dev).manual_seed(seed)
    pool = torch.from_numpy(train_poses.poses).to(dev)
    val = validation_set(val_poses, cfg, models, weights, dev)
    n_real = real_share(batch, cfg.real_pairs.fraction, real)
    run = Run(cfg, dev, out, net, ema, opt, gen, pool, val, models, weights, real, n_real, net, batch)
    saved = read_checkpoint(out / "checkpoint.safetensors")
    if saved is not None:
        tensors, info = saved
        restore(tensors, net, ema, opt, gen)
        run.step, run.log = info["step"], info.get("log", [])
    run.model = wrap(net, dev, all_used=cfg.loss.w_unc > 0)
    if distributed.active():  # the log says where the world size changed
        run.log.append({"step": run.step, "world_size": distributed.world()})
    return run


def train_step(run: Run, batch_loss: Callable[[Run], LossAndStats] | None = None) -> dict[str, float]:
    """One optimiser step (and the EMA update); returns this rank's batch statistics. ``batch_loss``:
    the loss of this step's batch (default: a batch drawn from the rank's stream, :func:`drawn_loss`)."""
    cfg, step = run.cfg, run.step
    # dropout etc.: a function of the step, for exact resumes
    torch.manual_seed(process_seed(cfg.seed) * 100003 + step)
    reseed(run.gen, cfg.seed, step)  # distributed runs: the stream's position is the step
    for g in run.opt.param_groups:
        g["lr"] = _lr(cfg, step)
    run.net.train()
    loss, stats = (batch_loss or drawn_loss)(run)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.net.parameters(), cfg.grad_clip)
    run.opt.step()
    update_ema(run.ema, run.net, cfg.ema_decay)
    run.step += 1
    return stats


def drawn_loss(run: Run) -> LossAndStats:
    """The loss of a synthetic batch drawn from the rank's stream, mixed with that of real pairs when the
    config asks for them."""
    cfg = run.cfg
    idx = torch.randint(0, len(run.pool), (run.batch - run.n_real,), generator=run.gen, device=run.dev)
    batch: CleanBatch = make_batch(run.pool[idx], cfg.rig, cfg.augment, run.gen)
    args = (cfg.schedule, run.models, run.weights, cfg.loss, run.gen, cfg.noise.profile_jitter)
    loss, stats = denoising_loss(run.model, batch, *args, cond=cfg.conditioning)
    if run.real is not None:  # a share of each batch is a real detector's output
        jitter = cfg.real_pairs.level_jitter
        mix = (run.model, run.real, run.n_real, run.batch, cfg.loss, run.gen, jitter, cfg.conditioning)
        loss = mix_real_pairs(loss, stats, *mix)
    return loss, stats


def validate(run: Run) -> dict[str, float]:
    """Validate the EMA network; the main process also plots and keeps a snapshot if asked."""
    cfg = run.cfg
    result = validation_mpjpe(run.ema, run.val, cfg.schedule, cfg.conditioning)
    run.log.append({"step": run.step, "val": result})
    if is_main():
        plot_training(run.log, run.out / "training.png")
        if cfg.snapshots:
            _save_model(run, run.out / "snapshots" / f"step_{run.step}", run.models)
    return result


def save(run: Run) -> None:
    """Checkpoint and log (main process only)."""
    if is_main():
        state = checkpoint_tensors(run.net, run.ema, run.opt, run.gen)
        save_checkpoint(run.out / "checkpoint.safetensors", state, {"step": run.step, "log": run.log})
        atomic_write_text(run.out / "log.jsonl", "".join(_json(r) + "\n" for r in run.log))


def finish(run: Run) -> Path:
    """Choose the start levels on the validation poses and write the model folder; returns it."""
    cfg = run.cfg
    run.ema.eval()
    refiner = Refiner(
        run.ema, cfg.schedule, {m.name: m for m in run.models}, cfg.conditioning, device=run.dev
    )
    chosen, tables = with_default_levels(refiner, run.val["batch"], measured_families(cfg.noise))
    models = [chosen[m.name] for m in run.models]
    levels = {m.name: m.default_level for m in models}
    if is_main():
        atomic_write_json(run.out / "levels.json", {"tables": tables, **levels})
        if tables:
            plot_level_tables(tables, levels, run.out / "levels.png")
        _save_model(run, run.out / "model", models)
    return run.out / "model"


def _save_model(run: Run, folder: Path, models: list[ErrorModel2D]) -> None:
    cfg = run.cfg
    state = cpu_tensors(run.ema.state_dict())
    write_bundle(folder, state, cfg.model, cfg.schedule, cfg.conditioning, models, run.weights, to_dict(cfg))


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) a model; returns the model folder. The process's torch thread count (which
    ``cfg.threads`` may set) is put back afterwards, so an in-process caller's arithmetic is unchanged."""
    threads = torch.get_num_threads()
    try:
        with distributed.process_group(cfg.device):  # under torchrun: DDP over all ranks
            return _train(cfg, progress)
    finally:
        torch.set_num_threads(threads)


def _train(cfg: TrainConfig, progress: bool) -> Path:
    run = setup(cfg)
    bar = tqdm(
        total=cfg.steps,
        initial=run.step,
        disable=not progress or not is_main(),
        desc="train",
        unit="step",
        dynamic_ncols=True,
    )
    t0, seen = time.perf_counter(), 0
    while run.step < cfg.steps:
        stats = train_step(run)
        seen += cfg.batch_size
        bar.update(1)
        bar.set_postfix(mpjpe=f"{stats['loss_3d_mm']:.1f}")
        step, last = run.step, run.step == cfg.steps
        if step % 50 == 0 or last:
            stats = distributed.mean(stats)  # the whole batch's, over the ranks
            rate = seen / (time.perf_counter() - t0)
            run.log.append({"step": step, **stats, "lr": _lr(cfg, step - 1), "samples_per_s": rate})
        if step % cfg.val_every == 0 or last:
            val = validate(run)
            if is_main():
                bar.write(f"step {step}: " + ", ".join(f"{k} {v:.1f}" for k, v in val.items()))
        if step % cfg.ckpt_every == 0 or last:
            save(run)
    bar.close()
    return finish(run)


def _json(r: dict) -> str:
    return json_text(r, indent=None)
