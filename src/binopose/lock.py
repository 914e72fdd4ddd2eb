"""One ``binopose run`` per output folder at a time: an exclusive ``fcntl.flock`` on a lock file in the
folder, held for the whole run (the kernel lets it go when the process ends, however it ends)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from binopose.errors import BinoposeError

LOCK_FILE = ".binopose.lock"
_HELD: set[str] = set()  # the folders this process holds


@contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold the folder's lock (creating the folder), or raise :class:`BinoposeError` at once when
    another process holds it."""
    folder = Path(folder)
    key = str(folder.resolve())
    if key in _HELD:  # this process holds it already (the CLI around run_pipeline, which takes it too)
        yield folder / LOCK_FILE
        return
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise BinoposeError(f"cannot use output folder {folder}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BinoposeError(
                f"output folder {folder} is in use by another binopose run; wait for it to finish or "
                "give another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD.add(key)
        yield folder / LOCK_FILE
    except BaseException:
        if created:  # a run that failed before writing anything leaves no folder behind
            _remove_if_bare(folder)
        raise
    finally:
        _HELD.discard(key)
        os.close(fd)  # releases the lock


def _remove_if_bare(folder: Path) -> None:
    try:
        if [p.name for p in folder.iterdir()] == [LOCK_FILE]:
            (folder / LOCK_FILE).unlink()
            folder.rmdir()
    except OSError:
        pass  # not ours to insist on
