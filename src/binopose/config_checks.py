"""Checks of a resolved training config, run once before anything is written: every number in its
allowed range (one line naming the key and the range), and a resume only under the config the run
folder was started with."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from binopose.errors import BinoposeError


@dataclass(frozen=True)
class Limit:
    """An allowed range ``lo <= x <= hi`` (``<`` where open); None: unbounded on that side."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def holds(self, x: float) -> bool:
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return self.hi is None or (x < self.hi if self.hi_open else x <= self.hi)

    def text(self, key: str) -> str:
        lo_op, hi_op = ("<" if self.lo_open else "<="), ("<" if self.hi_open else "<=")
        if self.hi is None:
            return f"{key} {'>' if self.lo_open else '>='} {self.lo:g}"
        if self.lo is None:
            return f"{key} {hi_op} {self.hi:g}"
        return f"{self.lo:g} {lo_op} {key} {hi_op} {self.hi:g}"


PROBABILITY = Limit(0, 1)

#: dotted key -> allowed range, for :class:`binopose.training.train.TrainConfig`
TRAIN_LIMITS: dict[str, Limit] = {
    "steps": Limit(1),
    "batch_size": Limit(2),
    "lr": Limit(0, lo_open=True),
    "warmup": Limit(0),
    "weight_decay": Limit(0),
    "grad_clip": Limit(0, lo_open=True),
    "ema_decay": Limit(0, 1, hi_open=True),
    "ckpt_every": Limit(1),
    "val_every": Limit(1),
    "val_size": Limit(1),
    "holdout_every_nth_clip": Limit(0),
    "threads": Limit(0),
    "model.dim": Limit(1),
    "model.depth": Limit(1),
    "model.heads": Limit(1),
    "model.cond_dim": Limit(1),
    "model.dropout": Limit(0, 1, hi_open=True),
    "model.out_level": Limit(0),
    "schedule.steps": Limit(1),
    "schedule.sigma_max": Limit(0, lo_open=True),
    "noise.stereo_weight": PROBABILITY,
    "noise.stereo_outlier_prob": PROBABILITY,
    "noise.per_view_swap_prob": PROBABILITY,
    "noise.profile_jitter": Limit(0),
    "noise.extra_weight": PROBABILITY,
    "rig.converge_prob": PROBABILITY,
    "augment.mirror_prob": PROBABILITY,
    "real_pairs.fraction": Limit(0, 1, hi_open=True),
    "real_pairs.level_jitter": Limit(0),
}


def _get(cfg: Any, key: str) -> Any:
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


def _non_finite(cfg: Any, prefix: str = "") -> str | None:
    """The dotted key of the first NaN or infinite number anywhere in the config, or None."""
    for f in dataclasses.fields(cfg):
        v, key = getattr(cfg, f.name), prefix + f.name
        if dataclasses.is_dataclass(v):
            bad = _non_finite(v, key + ".")
            if bad:
                return bad
        values = v if isinstance(v, (list, tuple)) else [v]
        if any(isinstance(x, float) and not math.isfinite(x) for x in values):
            return key
    return None


def check_train_config(cfg: Any, limits: dict[str, Limit] = TRAIN_LIMITS) -> None:
    """Raise one :class:`BinoposeError` naming the first out-of-range key and its allowed range."""
    bad = _non_finite(cfg)
    if bad:
        raise BinoposeError(f"config: {bad} = {_get(cfg, bad)!r}: every number must be finite")
    for key, limit in limits.items():
        value = _get(cfg, key)
        if not limit.holds(value):
            raise BinoposeError(f"config: {key} = {value!r} is out of range: expected {limit.text(key)}")
    model = cfg.model
    if model.dim % model.heads:
        raise BinoposeError(
            f"config: model.dim = {model.dim} is not divisible by model.heads = {model.heads}"
        )


#: keys that may change between the start of a run and its resume: they do not change what is trained
RESUMABLE_CHANGES = frozenset({"threads"})


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}{k}."))
    return out


def config_changes(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` for every dotted key whose value differs (``absent`` where missing)."""
    a, b = _flatten(old), _flatten(new)
    return [
        f"{k}: {json.dumps(a.get(k, 'absent'))} -> {json.dumps(b.get(k, 'absent'))}"
        for k in sorted(set(a) | set(b))
        if a.get(k, "absent") != b.get(k, "absent") and k not in RESUMABLE_CHANGES
    ]


def check_resume(saved: Path, config: dict, resuming: bool) -> None:
    """Refuse to resume a run (``resuming``: its folder holds a checkpoint) under a config other than
    the one it was started with, saved in ``saved`` (config.json); call before overwriting it."""
    if not resuming:
        return
    folder = saved.parent
    if not saved.is_file():
        raise BinoposeError(
            f"{folder} holds a checkpoint but no {saved.name}: cannot check it was made with this config; "
            "pick a new out= folder"
        )
    try:
        old = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BinoposeError(f"{saved} is unreadable ({e}); pick a new out= folder") from None
    from binopose.io_utils import strict_json_value

    changes = config_changes(old, strict_json_value(config))
    if changes:
        raise BinoposeError(
            f"{folder} holds a run started under another config ({'; '.join(changes)}): resuming it would "
            "mix two configs; pick a new out= folder, or restore those settings"
        )
