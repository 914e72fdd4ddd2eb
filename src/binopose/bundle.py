"""The model bundle: everything a trained refiner needs, written and read here only.

A bundle is a model folder (:mod:`binopose.checkpoint` stores it: safetensors weights with the config
and the 2D error models in its metadata). Its config holds a ``kind`` (the kind of network, e.g.
``denoiser-frame``: one frame at a time), the network's config, the noise schedule and the
conditioning contract (:class:`~binopose.diffusion.conditioning.Conditioning`). A second kind of
network adds one builder to :data:`BUILDERS`; the readers do not change. Files written before the
``kind`` and ``conditioning`` keys existed are the frame kind, with the contract in the model config.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from binopose.checkpoint import load_model, save_model
from binopose.config import from_dict
from binopose.data.noise import ErrorModel2D
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.model import Denoiser, DenoiserConfig

#: the single-frame Dual-Diffusion denoiser (:class:`binopose.model.Denoiser`)
FRAME = "denoiser-frame"
#: conditioning keys that model files before the ``conditioning`` key kept in the model config, and
#: their meaning when absent (files from before those options)
_LEGACY_CONDITIONING = {"evidence_2d": True, "noise_profile": False, "root_from_hips": False}


@dataclass(frozen=True)
class ModelBundle:
    kind: str
    net: nn.Module  # in eval mode, on the CPU
    schedule: Schedule
    conditioning: Conditioning
    error_models: dict[str, ErrorModel2D]  # by family name
    weights: list[float]  # each family's share in training


def default_model_path() -> Path:
    return Path(str(resources.files("binopose") / "assets" / "default_model" / "model.safetensors"))


def write_bundle(
    folder: str | os.PathLike,
    state: dict[str, torch.Tensor],
    model: DenoiserConfig,
    schedule: Schedule,
    conditioning: Conditioning,
    error_models: list[ErrorModel2D],
    weights: list[float],
    train: dict | None = None,
) -> Path:
    """Write a frame-kind model folder (``train``: the resolved training config, for provenance);
    returns the weights path."""
    config = {
        "kind": FRAME,
        "model": dataclasses.asdict(model),
        "schedule": dataclasses.asdict(schedule),
        "conditioning": dataclasses.asdict(conditioning),
    }
    if train is not None:
        config["train"] = train
    error = {"models": [dataclasses.asdict(m) for m in error_models], "weights": list(weights)}
    return save_model(folder, state, config, error)


def _conditioning(config: dict) -> tuple[Conditioning, dict]:
    """The contract and the network config without it (older files keep it in the model config)."""
    model = dict(config["model"])
    if "conditioning" in config:
        return Conditioning.from_dict(config["conditioning"]), model
    legacy = {k: model.pop(k, default) for k, default in _LEGACY_CONDITIONING.items()}
    return Conditioning.from_dict(legacy), model


def _frame_net(path: Path, model: dict, cond: Conditioning, state: dict[str, torch.Tensor]) -> nn.Module:
    cfg = from_dict(DenoiserConfig, model)
    blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    if cfg.depth != blocks or not (0 < cfg.heads <= cfg.dim <= 4096 and 0 < cfg.cond_dim <= 4096):
        # checked before building: a forged config (depth 2**70) must not exhaust the memory
        raise BinoposeError(f"{path}: config {model} does not fit the weights ({blocks} blocks)")
    net = Denoiser(cfg, cond.evidence_width)
    net.load_state_dict(state, strict=True)
    return net


#: kind -> builder of the network from (path, network config, conditioning, weights)
BUILDERS: dict[str, Callable[[Path, dict, Conditioning, dict[str, torch.Tensor]], nn.Module]] = {
    FRAME: _frame_net
}


def read_bundle(path: str | os.PathLike | None = None) -> ModelBundle:
    """Read a model folder or its ``model.safetensors`` (None: the model shipped with binopose)."""
    p = Path(path) if path is not None else default_model_path()
    state, config, err = load_model(p)
    kind = config.get("kind", FRAME) if isinstance(config, dict) else None
    if not isinstance(kind, str) or kind not in BUILDERS:  # a damaged config may hold a list here
        raise BinoposeError(f"{p}: unknown model kind {kind!r} (this binopose reads: {', '.join(BUILDERS)})")
    try:
        cond, model = _conditioning(config)
        net = BUILDERS[kind](p, model, cond, state)
        schedule = from_dict(Schedule, config["schedule"])
        models = {m["name"]: ErrorModel2D.from_dict(m) for m in err["models"]}
        weights = [float(w) for w in err.get("weights", [1.0] * len(models))]
    except (KeyError, RuntimeError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(
            f"{p}: model does not match this binopose version ({str(e).splitlines()[0]})"
        ) from None
    return ModelBundle(kind, net.eval(), schedule, cond, models, weights)
