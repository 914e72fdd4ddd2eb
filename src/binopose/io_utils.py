"""Atomic file writes: a crash or a full disk never leaves a half-written output behind."""

from __future__ import annotations

import errno
import glob
import json
import math
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from binopose.errors import BinoposeError, OutputError

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


#: the largest array an input file may make binopose allocate (bytes); the environment variable
#: BINOPOSE_MAX_ARRAY_BYTES raises or lowers it
MAX_ARRAY_BYTES = 16 * 2**30


def max_array_bytes() -> int:
    try:
        return int(os.environ.get("BINOPOSE_MAX_ARRAY_BYTES", MAX_ARRAY_BYTES))
    except ValueError:
        return MAX_ARRAY_BYTES


def check_npz_sizes(path: str | os.PathLike, what: str) -> None:
    """Read the .npy header of every member of an ``.npz`` file before any array is loaded: refuse
    (:class:`BinoposeError`) a member whose header claims more data than the member holds (a truncated
    or forged file) or more than :func:`max_array_bytes`, so that no input makes binopose allocate
    what the header alone claims. A file that is not a zip is left to the reader."""
    import numpy as np

    if not zipfile.is_zipfile(path):
        return
    cap = max_array_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read = np.lib.format.read_array_header_1_0
                    if version != (1, 0):
                        read = np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(f, max_header_size=2**16)
                    have = info.file_size - f.tell()
                need = math.prod(shape) * dtype.itemsize
                name = info.filename[:-4]
                if need > have:
                    raise BinoposeError(
                        f"{what} {path}: array {name!r} claims shape {shape} ({need:,} bytes) but holds "
                        f"{have:,} bytes: a truncated or damaged file"
                    )
                if need > cap:
                    raise BinoposeError(
                        f"{what} {path}: array {name!r} of shape {shape} needs {need / 2**30:.1f} GiB, over the "
                        f"{cap / 2**30:.1f} GiB limit (BINOPOSE_MAX_ARRAY_BYTES)"
                    )
    except READ_ERRORS as e:
        if isinstance(e, BinoposeError):
            raise
        raise BinoposeError(f"{what} {path} is not a readable .npz ({type(e).__name__}: {e})") from None


def read_npz(path: str | os.PathLike, what: str) -> dict:
    """Every member of an ``.npz`` file (no pickles), or one :class:`BinoposeError` naming ``what`` and
    the file when it is missing, unreadable or claims more memory than it holds
    (:func:`check_npz_sizes`)."""
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise BinoposeError(f"{what} not found: {p}")
    check_npz_sizes(p, what)
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except READ_ERRORS as e:
        raise BinoposeError(f"{what} {p} is not a readable .npz ({type(e).__name__}: {e})") from None


#: a temporary file of an atomic write untouched for this long was left by a killed process
STALE_TMP_SECONDS = 15 * 60

#: errno values that say the output path itself is wrong (a usage error, exit code 2), not the disk
_USAGE_ERRNOS = {errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG}


def output_error(path: str | os.PathLike, e: OSError) -> OutputError:
    """One :class:`OutputError` naming ``path`` for an OSError raised while writing it."""
    if isinstance(e, OutputError):
        return e
    code = e.errno or 0
    if code == errno.EISDIR:
        reason = "it is a folder"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        reason = "a folder on its path is a regular file"
    else:
        reason = e.strerror or str(e)
    return OutputError(path, reason, code, usage=code in _USAGE_ERRNOS)


def current_umask() -> int:
    """The process umask, read without changing it where /proc allows (Linux), else set and restored."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it over ``path``.
    The file gets the mode a plain ``open`` would give it (0o666 less the umask). Temporary files of
    earlier writes to ``path`` that a killed process left behind (untouched for
    :data:`STALE_TMP_SECONDS`) are removed after a successful write. Any OSError becomes an
    :class:`OutputError` naming ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise output_error(path, e) from e
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        write(Path(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise output_error(path, e) from e
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


def strict_json_value(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None, numpy scalars and arrays as Python numbers and lists,
    tuples as lists: what :func:`json_text` can write as strict JSON."""
    if isinstance(obj, dict):
        return {str(k): strict_json_value(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json_value(v) for v in obj]
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return strict_json_value(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def json_text(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON (RFC 8259): NaN and infinities become ``null``, never the bare ``NaN`` that strict
    parsers reject. Every JSON file binopose writes goes through here."""
    return json.dumps(strict_json_value(obj), indent=indent, allow_nan=False)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json_text(obj) + "\n")


def _same_path(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output(
    path: str | os.PathLike,
    inputs: dict[str, str | os.PathLike | None] | None = None,
    folder: bool = False,
) -> Path:
    """Refuse, before any work, an output that cannot be written or that would destroy an input.

    ``inputs`` maps what each input is ("DATA.npz", "--rig") to its path (None: not given). Raises
    :class:`BinoposeError` when ``path`` is one of the inputs, else :class:`OutputError` (``usage``
    set when the path is a folder where a file is expected, or under a regular file) when a probe file
    cannot be created in the folder that would hold it (read-only folder or file system, full disk).
    Nothing is left behind; missing folders are not created here."""
    p = Path(path)
    for what, src in (inputs or {}).items():
        if src is not None and _same_path(p, Path(src)):
            raise BinoposeError(f"the output {p} is the input {what} {src}: refusing to overwrite it")
    if folder and p.exists() and not p.is_dir():
        raise OutputError(p, "it exists and is not a folder", errno.ENOTDIR, usage=True)
    if not folder and p.is_dir():
        raise OutputError(p, "it is a folder", errno.EISDIR, usage=True)
    if not folder and p.exists() and not p.is_file():
        raise OutputError(p, "it exists and is not a regular file", errno.EINVAL, usage=True)
    d = p if folder else p.parent
    while not d.exists() and d != d.parent:
        d = d.parent
    if not d.is_dir():
        raise OutputError(p, f"{d} on its path is a regular file", errno.ENOTDIR, usage=True)
    try:
        fd, probe = tempfile.mkstemp(prefix=".binopose-probe.", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(p, f"{d} is not writable ({e.strerror or e})", e.errno or 0) from e
    return p
