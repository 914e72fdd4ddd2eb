"""Atomic file writes: a crash or a full disk never leaves a half-written output behind."""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: What reading a damaged or foreign file can raise (zip, deflate, .npy header, JSON, text decoding,
#: absurd nesting): readers catch these and raise one BinoposeError naming the file instead.
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    zipfile.BadZipFile,
    zlib.error,
    UnicodeDecodeError,
    RecursionError,
    NotImplementedError,  # zipfile: unknown zip version or compression method
    RuntimeError,  # zipfile: encrypted member
)


def read_npz(path: str | os.PathLike, what: str) -> dict:
    """Every member of an ``.npz`` file (no pickles), or one :class:`BinoposeError` naming ``what`` and
    the file when it is missing or unreadable."""
    import numpy as np

    from binopose.errors import BinoposeError

    p = Path(path)
    if not p.is_file():
        raise BinoposeError(f"{what} not found: {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except READ_ERRORS as e:
        raise BinoposeError(f"{what} {p} is not a readable .npz ({type(e).__name__}: {e})") from None


#: a temporary file of an atomic write untouched for this long was left by a killed process
STALE_TMP_SECONDS = 15 * 60


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it over ``path``.
    Temporary files of earlier writes to ``path`` that a killed process left behind (untouched for
    :data:`STALE_TMP_SECONDS`) are removed after a successful write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remove_stale_tmp(path)


def _remove_stale_tmp(path: Path) -> None:
    now = time.time()
    for old in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - old.stat().st_mtime > STALE_TMP_SECONDS:
                old.unlink()
        except OSError:  # gone already, or not ours to remove
            pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=True) + "\n")
