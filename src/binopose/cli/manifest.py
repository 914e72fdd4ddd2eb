"""`binopose run --manifest FILE`: many recordings, one line each (``LEFT RIGHT RIG.toml OUT_DIR``,
shell-quoted where a path has spaces; relative paths are relative to the manifest's folder; blank lines
and ``#`` comments are skipped). Under torchrun the recordings are dealt out over the ranks (line i to
rank i mod W); without it one process does them all. A recording that fails gets one line and the
others go on; the exit code is 1 when any failed."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from binopose import distributed
from binopose.errors import BinoposeError


@dataclass(frozen=True)
class Recording:
    line: int  # 1-based line of the manifest
    left: str
    right: str
    rig: str
    out: str

    def describe(self) -> str:
        return (
            f"recording at line {self.line} ({Path(self.left).name}, {Path(self.right).name} -> {self.out})"
        )


def read_manifest(path: str) -> list[Recording]:
    """The recordings a manifest lists (a usage error for a missing manifest or a malformed line)."""
    p = Path(path)
    if not p.is_file():
        raise BinoposeError(f"--manifest {path!r}: no such file")
    base, found = p.parent, []
    for i, text in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        try:
            fields = shlex.split(text, comments=True)
        except ValueError as e:
            raise BinoposeError(f"--manifest {path}, line {i}: {e}") from None
        if not fields:
            continue
        if len(fields) != 4:
            raise BinoposeError(
                f"--manifest {path}, line {i}: expected 4 fields (LEFT RIGHT RIG.toml OUT_DIR), got {len(fields)}"
            )
        found.append(Recording(i, *(str(base / f) for f in fields)))
    if not found:
        raise BinoposeError(f"--manifest {path}: lists no recordings")
    return found


def run_manifest(recordings: list[Recording], process: Callable[[Recording], str]) -> int:
    """``process`` (which returns a one-line summary) on this rank's share of ``recordings``; failures are
    reported, one line each, and do not stop the others. Returns 0, or 1 when any recording failed (on
    every rank)."""
    mine = recordings[distributed.rank() :: distributed.world()]
    failed = []
    for rec in mine:
        try:
            print(f"{rec.describe()}: {process(rec)}", flush=True)
        except Exception as e:  # noqa: BLE001 - any failure of one recording must not stop the others
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            print(f"error: {rec.describe()} failed: {first}", file=sys.stderr, flush=True)
            failed.append(rec.line)
    failed = sorted(n for part in distributed.gather_objects(failed) for n in part)
    if distributed.is_main():
        done = len(recordings) - len(failed)
        lines = f" (line {', '.join(map(str, failed))})" if failed else ""
        print(f"{len(recordings)} recordings: {done} done, {len(failed)} failed{lines}")
    return 1 if failed else 0
