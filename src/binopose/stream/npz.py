"""``.npz`` members read and written incrementally.

Reading: each member's ``.npy`` header is parsed (``numpy.lib.format``) and its rows are read from the
zip stream a chunk at a time with ``numpy.frombuffer``: compressed and stored members alike, and never
more than one chunk in memory (a header that claims more data than the file holds ends in a one-line
error at the first short read, not in a huge allocation).

Writing: :class:`NpzWriter` appends rows to one raw temporary file per member, then writes the zip
(each member's ``.npy`` header first, then its rows, deflated) to a temporary file renamed over the
output at the end (:func:`binopose.io_utils.atomic_write`).
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.io_utils import READ_ERRORS, atomic_write, check_npz_sizes
from binopose.stream import heap

_READ = 1 << 22  # bytes per read when copying


def _read_header(f: object) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} is not supported here")


class NpzReader:
    """The members of an ``.npz`` file: shapes and dtypes from their headers, rows on demand."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path, self.what = Path(path), what
        if not self.path.is_file():
            raise BinoposeError(f"{what} not found: {self.path}")
        check_npz_sizes(self.path, what)  # no header's claim is believed before the members are sized
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.dtypes: dict[str, np.dtype] = {}
        self._fortran: set[str] = set()
        with self._guard():
            self._zip = zipfile.ZipFile(self.path)
            for name in self._zip.namelist():
                if not name.endswith(".npy"):
                    continue
                with self._zip.open(name) as f:
                    shape, fortran, dtype = _read_header(f)
                if dtype.hasobject:
                    raise BinoposeError(f"{what} {self.path}: member {name!r} holds Python objects")
                key = name[: -len(".npy")]
                self.shapes[key], self.dtypes[key] = tuple(shape), dtype
                if fortran and len(shape) > 1:
                    self._fortran.add(key)

    def _guard(self) -> _Guard:
        return _Guard(self)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, key: str) -> np.ndarray:
        """A whole member (for the small ones: labels, statistics)."""
        return next(self.rows([key], max(1, self.shapes[key][0] if self.shapes[key] else 1)))[key]

    def rows(self, keys: list[str], chunk: int) -> Iterator[dict[str, np.ndarray]]:
        """Chunks of ``chunk`` rows of the members ``keys`` (equal first dimensions), in step.
        A 0-d member is yielded whole, once."""
        with self._guard():
            if any(not self.shapes[k] for k in keys):
                with self._zip.open(keys[0] + ".npy") as f:
                    yield {keys[0]: np.lib.format.read_array(f, allow_pickle=False)}
                return
            n = self.shapes[keys[0]][0]
            files = {k: self._zip.open(k + ".npy") for k in keys}
            try:
                whole = {}
                for k, f in files.items():
                    _read_header(f)
                    if k in self._fortran:  # rare: read whole, then slice
                        whole[k] = np.lib.format.read_array(f, allow_pickle=False)
                for start in range(0, n, chunk):
                    heap.release()  # the previous chunk's arrays, freed by now, back to the system
                    m = min(chunk, n - start)
                    yield {
                        k: whole[k][start : start + m] if k in whole else self._take(k, f, m)
                        for k, f in files.items()
                    }
            finally:
                for f in files.values():
                    f.close()

    def _take(self, key: str, f: object, m: int) -> np.ndarray:
        shape, dtype = self.shapes[key], self.dtypes[key]
        per_row = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        buf = f.read(m * per_row)
        if len(buf) != m * per_row:
            raise BinoposeError(
                f"{self.what} {self.path}: member {key!r} is truncated (its header says {shape})"
            )
        return np.frombuffer(buf, dtype).reshape((m, *shape[1:]))


class _Guard:
    """Turns what reading a damaged zip can raise into one :class:`BinoposeError` naming the file."""

    def __init__(self, reader: NpzReader) -> None:
        self.reader = reader

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, e: BaseException | None, tb: object) -> bool:
        if e is None or isinstance(e, BinoposeError) or not isinstance(e, READ_ERRORS):
            return False
        r = self.reader
        raise BinoposeError(f"{r.what} {r.path} is not a readable .npz ({type(e).__name__}: {e})") from None


def _write_header(out: object, header: dict) -> None:
    buf = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buf, header)
    except ValueError:  # a header over 64 KiB: format 2.0
        buf = io.BytesIO()
        np.lib.format.write_array_header_2_0(buf, header)
    out.write(buf.getvalue())


class NpzWriter:
    """Write an ``.npz`` row chunk by row chunk: ``add(key, rows)`` appends rows to a member (all of one
    member's rows must have the same dtype and row shape), ``put(key, array)`` sets a small member whole,
    ``close()`` writes the file atomically. Use as a context manager (an exception writes nothing)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._dir = tempfile.TemporaryDirectory(prefix=f".{self.path.name}.", dir=self.path.parent)
        self._parts: dict[str, tuple[Path, np.dtype, tuple[int, ...], int]] = {}
        self._small: dict[str, np.ndarray] = {}

    def add(self, key: str, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows)
        raw, dtype, shape, n = self._parts.get(
            key, (Path(self._dir.name) / key, rows.dtype, rows.shape[1:], 0)
        )
        if rows.dtype != dtype or rows.shape[1:] != shape:
            raise ValueError(f"{key}: rows {rows.dtype} {rows.shape[1:]} after {dtype} {shape}")
        with open(raw, "ab") as f:
            rows.tofile(f)
        self._parts[key] = (raw, dtype, shape, n + len(rows))

    def put(self, key: str, array: np.ndarray) -> None:
        self._small[key] = np.asarray(array)

    def _write(self, tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            for key, (raw, dtype, shape, n) in self._parts.items():
                header = {
                    "descr": np.lib.format.dtype_to_descr(dtype),
                    "fortran_order": False,
                    "shape": (n, *shape),
                }
                with z.open(key + ".npy", "w", force_zip64=True) as out, open(raw, "rb") as src:
                    _write_header(out, header)
                    shutil.copyfileobj(src, out, _READ)
                raw.unlink()
            for key, a in self._small.items():
                with z.open(key + ".npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, a, allow_pickle=False)

    def close(self) -> None:
        try:
            atomic_write(self.path, self._write)
        finally:
            self._dir.cleanup()

    def __enter__(self) -> NpzWriter:
        return self

    def __exit__(self, kind: type | None, e: BaseException | None, tb: object) -> None:
        if e is None:
            self.close()
        else:
            self._dir.cleanup()
