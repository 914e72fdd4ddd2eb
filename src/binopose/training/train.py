"""Training a Dual-Diffusion refiner from 3D pose corpora and virtual stereo rigs.

``train(cfg)`` runs in a folder with the resolved config, a JSON-lines log, a loss/MPJPE plot,
``checkpoint.safetensors`` (resumed automatically) and, at the end, the model folder ``model/``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm import tqdm

from binopose.bundle import write_bundle
from binopose.checkpoint import load_checkpoint, save_checkpoint
from binopose.config import to_dict
from binopose.data.corpora import PoseCorpus, concat, load_corpus, split_by_group
from binopose.data.noise import ErrorModel2D
from binopose.data.presets import NoiseConfig, build_error_models, measured_families
from binopose.data.real_pairs import RealPairs, RealPairsConfig, load_real_pairs
from binopose.data.rigs import RigConfig
from binopose.data.synth import AugmentConfig, make_batch
from binopose.device import resolve_device
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.loss import LossConfig, denoising_loss
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write, atomic_write_json, atomic_write_text
from binopose.model import Denoiser, DenoiserConfig
from binopose.refiner import Refiner
from binopose.training.real_pairs import mix_real_pairs, real_share
from binopose.training.validate import plot_level_tables, validation_mpjpe, with_default_levels


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


def _state(net: Denoiser, ema: Denoiser, opt: torch.optim.Optimizer, gen: torch.Generator) -> dict:
    t = {f"model.{k}": v for k, v in net.state_dict().items()}
    t.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    for i, s in opt.state_dict()["state"].items():
        t.update({f"optim.{i}.{k}": torch.as_tensor(v) for k, v in s.items()})
    t["rng"] = gen.get_state()
    return _cpu(t)


def _restore(
    tensors: dict, net: Denoiser, ema: Denoiser, opt: torch.optim.Optimizer, gen: torch.Generator
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


def _plot(log: list[dict], path: Path) -> None:
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


def is_main() -> bool:
    """Whether this process writes files: the only one, or rank 0 of a distributed run."""
    return not dist.is_initialized() or dist.get_rank() == 0


def process_seed(seed: int) -> int:
    """This process's seed: ``seed + rank`` (each rank of a distributed run draws its own batches)."""
    return seed + (dist.get_rank() if dist.is_initialized() else 0)


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
    n_real: int  # real pairs per batch
    step: int = 0
    log: list[dict] = field(default_factory=list)


def setup(cfg: TrainConfig) -> Run:
    """Read the poses and error models, build the networks, resume from the checkpoint if there is one."""
    dev = resolve_device(cfg.device)  # before anything is written or loaded
    out = Path(cfg.out)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    if is_main():
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "config.json", to_dict(cfg))
    train_poses, val_poses = load_poses(cfg)
    models, weights = build_error_models(cfg.noise)
    real = _real_pairs(cfg, models, dev)
    seed = process_seed(cfg.seed)
    torch.manual_seed(seed)
    net = Denoiser(cfg.model, cfg.conditioning.evidence_width).to(dev)
    ema = Denoiser(cfg.model, cfg.conditioning.evidence_width).to(dev)
    ema.load_state_dict(net.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device=dev).manual_seed(seed)
    pool = torch.from_numpy(train_poses.poses).to(dev)
    val = validation_set(val_poses, cfg, models, weights, dev)
    n_real = real_share(cfg.batch_size, cfg.real_pairs.fraction, real)
    run = Run(cfg, dev, out, net, ema, opt, gen, pool, val, models, weights, real, n_real)
    ckpt = out / "checkpoint.safetensors"
    if ckpt.exists():
        tensors, info = load_checkpoint(ckpt)
        _restore(tensors, net, ema, opt, gen)
        run.step, run.log = info["step"], info.get("log", [])
    return run


def _real_pairs(cfg: TrainConfig, models: list[ErrorModel2D], dev: torch.device) -> RealPairs | None:
    family = {m.name: m for m in models}
    if cfg.real_pairs.fraction > 0 and cfg.real_pairs.family not in family:
        raise BinoposeError(
            f"real_pairs.family must be one of {sorted(family)}, got {cfg.real_pairs.family!r}"
        )
    real = load_real_pairs(cfg.real_pairs, family.get(cfg.real_pairs.family, models[0]))
    return None if real is None else real.to(dev)


def train_step(run: Run) -> dict[str, float]:
    """One optimiser step (and the EMA update); returns the batch's statistics."""
    cfg, step = run.cfg, run.step
    # dropout etc.: a function of the step, for exact resumes
    torch.manual_seed(process_seed(cfg.seed) * 100003 + step)
    for g in run.opt.param_groups:
        g["lr"] = _lr(cfg, step)
    idx = torch.randint(0, len(run.pool), (cfg.batch_size - run.n_real,), generator=run.gen, device=run.dev)
    batch = make_batch(run.pool[idx], cfg.rig, cfg.augment, run.gen)
    run.net.train()
    loss, stats = denoising_loss(
        run.net,
        batch,
        cfg.schedule,
        run.models,
        run.weights,
        cfg.loss,
        run.gen,
        cfg.noise.profile_jitter,
        cond=cfg.conditioning,
    )
    if run.real is not None:  # a share of each batch is a real detector's output
        loss = mix_real_pairs(
            loss,
            stats,
            run.net,
            run.real,
            run.n_real,
            cfg.batch_size,
            cfg.loss,
            run.gen,
            cfg.real_pairs.level_jitter,
            cfg.conditioning,
        )
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.net.parameters(), cfg.grad_clip)
    run.opt.step()
    with torch.no_grad():
        for pe, pn in zip(run.ema.parameters(), run.net.parameters()):
            pe.lerp_(pn, 1 - cfg.ema_decay)
    run.step += 1
    return stats


def validate(run: Run) -> dict[str, float]:
    """Validate the EMA network; the main process also plots and keeps a snapshot if asked."""
    cfg = run.cfg
    result = validation_mpjpe(run.ema, run.val, cfg.schedule, cfg.conditioning)
    run.log.append({"step": run.step, "val": result})
    if is_main():
        _plot(run.log, run.out / "training.png")
        if cfg.snapshots:
            _save_model(run, run.out / "snapshots" / f"step_{run.step}", run.models)
    return result


def save(run: Run) -> None:
    """Checkpoint and log (main process only)."""
    if is_main():
        state = _state(run.net, run.ema, run.opt, run.gen)
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
    state = _cpu(run.ema.state_dict())
    write_bundle(folder, state, cfg.model, cfg.schedule, cfg.conditioning, models, run.weights, to_dict(cfg))


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Train (or resume) a model; returns the model folder."""
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
            rate = seen / (time.perf_counter() - t0)
            run.log.append({"step": step, **stats, "lr": _lr(cfg, step - 1), "samples_per_s": rate})
        if step % cfg.val_every == 0 or last:
            val = validate(run)
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.1f}" for k, v in val.items()))
        if step % cfg.ckpt_every == 0 or last:
            save(run)
    bar.close()
    return finish(run)


def _cpu(state: dict) -> dict:
    return {k: v.detach().cpu() for k, v in state.items()}


def _json(r: dict) -> str:
    import json

    return json.dumps(r)


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
