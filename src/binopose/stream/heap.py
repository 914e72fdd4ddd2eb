"""glibc's heap kept from growing with the number of chunks (the chunked ``refine`` and ``eval``).

The chunked paths allocate and free arrays of about a chunk's size (a few MB to tens of MB) many times
over. glibc serves a block from ``mmap`` only above its mmap threshold, and that threshold is dynamic: it
rises to the size of every mmapped block freed (up to 32 MB), after which the chunk-sized arrays come from
the heap. Freed there, between blocks still in use, their space stays resident and the heap fragments a
little more with every chunk: the peak RSS of ``binopose refine`` and ``binopose eval`` grew with the
number of poses although what is alive at any moment does not (docs/ROBUSTNESS.md, memory).

:func:`limit_heap` fixes the threshold (``mallopt(M_MMAP_THRESHOLD)``, which also stops the dynamic
rise), so that blocks from :data:`MMAP_THRESHOLD` up are mapped and unmapped, and :func:`release` gives the
heap's free pages back once per chunk (``malloc_trim(0)``). Where the C library is not glibc (macOS,
Windows, musl) both do nothing: there is no such call, and those allocators manage large blocks otherwise.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from functools import cache

#: blocks of this many bytes and more are mapped: the largest threshold that kept the peak flat in the
#: measurements (16 and 8 MB did not; docs/ROBUSTNESS.md, heap fragmentation)
MMAP_THRESHOLD = 4 << 20
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


@cache
def _libc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim`` and ``mallopt``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):  # musl and others
        return None
    return libc


def available() -> bool:
    """Whether the C library is glibc, where :func:`limit_heap` and :func:`release` act."""
    return _libc() is not None


def limit_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Map blocks of ``threshold`` bytes and more, from now on, for the whole process; True when set.
    The free top of the heap is given back too: glibc maps a block only when the heap cannot serve it,
    so free space already there would keep taking blocks of any size. Not where glibc is absent, nor
    when the user chose a threshold (the ``MALLOC_MMAP_THRESHOLD_`` environment variable glibc reads):
    theirs stays."""
    libc = _libc()
    if libc is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    done = libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)) == 1
    release()
    return done


def release() -> bool:
    """Give the heap's free pages back to the system (``malloc_trim(0)``); True when some were given back,
    False when none were or where glibc is absent (then nothing is done)."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
