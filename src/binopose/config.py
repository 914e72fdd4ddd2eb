"""Typed dataclass configs from YAML files plus ``key=value`` overrides (dotted keys for nesting)."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from binopose.errors import BinoposeError

T = TypeVar("T")


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise BinoposeError(f"config: {where} must be a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _convert(args[0], value, where)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise BinoposeError(f"config: {where} must be a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is not Ellipsis:
            return tuple(_convert(a, v, where) for a, v in zip(args, value))
        inner = args[0] if args else Any
        out = [_convert(inner, v, where) for v in value]
        return tuple(out) if origin is tuple else out
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BinoposeError(f"config: {where} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BinoposeError(f"config: {where} must be an integer, got {value!r}")
        return value
    if tp is bool and not isinstance(value, bool):
        raise BinoposeError(f"config: {where} must be true or false, got {value!r}")
    if tp is str and not isinstance(value, str):
        raise BinoposeError(f"config: {where} must be a string, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict, where: str = "") -> T:
    """Build dataclass ``cls`` from a (nested) dict, checking keys and types."""
    if not isinstance(data, dict):
        raise BinoposeError(f"config: {where or cls.__name__} must be a mapping, got {data!r:.80}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise BinoposeError(f"config: unknown key(s) {', '.join(sorted(where + str(k) for k in unknown))}")
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    if required - set(data):
        raise BinoposeError(
            f"config: missing key(s) {', '.join(sorted(where + k for k in required - set(data)))}"
        )
    kwargs = {k: _convert(hints[k], v, f"{where}{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # a dataclass's own __post_init__ check
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"config: {where.rstrip('.') or cls.__name__}: {e}") from None


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` strings (values parsed as YAML) to a nested dict (copied)."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise BinoposeError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        node = data
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise BinoposeError(f"override {item!r}: {p} is not a section")
        node[parts[-1]] = _override_value(item, raw)
    return data


def _override_value(item: str, raw: str) -> Any:
    """A plain YAML value (number, string, list, mapping): tags such as ``!!python/object`` refused."""
    try:
        if any(isinstance(t, yaml.TagToken) for t in yaml.scan(raw)):
            raise BinoposeError(f"override {item!r}: YAML tags (!...) are not allowed, give a plain value")
        return yaml.safe_load(raw)
    except yaml.YAMLError as e:
        reason = str(e).splitlines()[0]
        raise BinoposeError(f"override {item!r} is not a valid YAML value ({reason})") from None


def load_config(cls: type[T], path: str | os.PathLike | None, overrides: list[str] = ()) -> T:
    """Read a YAML config file (or start from the defaults), apply overrides, build ``cls``."""
    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise BinoposeError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as e:
            raise BinoposeError(f"config file {p} is not UTF-8 text ({e.reason} at byte {e.start})") from None
        except yaml.YAMLError as e:
            raise BinoposeError(f"config file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise BinoposeError(f"config file {p} must hold a mapping at the top level")
    return from_dict(cls, apply_overrides(data, list(overrides)))


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)
