"""Model files and training checkpoints: safetensors only (no pickles), written atomically.

A *model* is a folder with ``model.safetensors`` (EMA weights; the config and the 2D error model are
also in its metadata, so the file alone is enough), ``config.json`` and ``error_model.json``.
A *checkpoint* is one ``checkpoint.safetensors`` holding weights, EMA, optimiser state, the random
generator state and the step, so that one rename makes it appear whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors.torch import safe_open as _safe_open  # noqa: F401  (re-exported for readers)

from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write, atomic_write_json, json_text

FORMAT = "binopose-model-1"


def _save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write(path, lambda p: save_file(tensors, str(p), metadata=metadata))


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    if not path.is_file():
        raise BinoposeError(f"model file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise BinoposeError(
            f"{path} is not a readable safetensors model file ({str(e).splitlines()[0]})"
        ) from None


def save_model(
    folder: str | os.PathLike, state: dict[str, torch.Tensor], config: dict, error_model: dict
) -> Path:
    """Write a model folder; returns the weights path."""
    folder = Path(folder)
    meta = {
        "format": FORMAT,
        "config": json_text(config, indent=None),
        "error_model": json_text(error_model, indent=None),
    }
    _save(state, folder / "model.safetensors", meta)
    atomic_write_json(folder / "config.json", config)
    atomic_write_json(folder / "error_model.json", error_model)
    return folder / "model.safetensors"


def load_model(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict, dict]:
    """Read a model folder or its ``model.safetensors``: (weights, config, error model)."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.safetensors"
    state, meta = _read(p)
    if meta.get("format") != FORMAT:
        raise BinoposeError(
            f"{p} is not a binopose model (format {meta.get('format')!r}, expected {FORMAT!r})"
        )
    try:
        return state, json.loads(meta["config"]), json.loads(meta["error_model"])
    except (KeyError, json.JSONDecodeError, RecursionError) as e:
        raise BinoposeError(f"{p}: damaged model metadata ({type(e).__name__}: {e})") from None


def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor], info: dict[str, Any]) -> None:
    _save(tensors, Path(path), {"format": FORMAT + "-checkpoint", "info": json_text(info, indent=None)})


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state, meta = _read(Path(path))
    if meta.get("format") != FORMAT + "-checkpoint":
        raise BinoposeError(f"{path} is not a binopose training checkpoint")
    try:
        info = json.loads(meta["info"])
    except (KeyError, json.JSONDecodeError, RecursionError) as e:
        raise BinoposeError(f"{path}: damaged checkpoint metadata ({type(e).__name__})") from None
    if not isinstance(info, dict):
        raise BinoposeError(f"{path}: damaged checkpoint metadata (info is not a JSON object)")
    return state, info
