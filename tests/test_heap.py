"""The chunked CLI paths keep glibc's heap from growing with the number of chunks (binopose.stream.heap):
chunk-sized blocks are mapped (a fixed mmap threshold), the heap's free pages go back once per chunk, and
nothing is done where the C library is not glibc. Peak memory itself is measured by bench/memory.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import write_tiny_bench

from binopose.cli import main
from binopose.geometry.rig import Camera, StereoRig, save_rig
from binopose.io import Keypoints2D, save_keypoints_2d
from binopose.stream import heap
from binopose.stream.npz import NpzReader

glibc = pytest.mark.skipif(not heap.available(), reason="glibc only")
K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


def test_off_glibc_nothing_is_done(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    heap._libc.cache_clear()
    try:
        assert not heap.available() and heap.release() is False and heap.limit_heap() is False
    finally:
        heap._libc.cache_clear()


@glibc
def test_a_users_threshold_is_kept(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert heap.limit_heap() is False


# a freed mapped block raises glibc's dynamic threshold to its size: the next block of that size comes
# from the heap (where freeing it fragments); after limit_heap() it is mapped again
_PROBE = textwrap.dedent(
    """
    import ctypes, numpy as np
    from binopose.stream import heap
    class Info(ctypes.Structure):
        _fields_ = [(k, ctypes.c_size_t) for k in
                    ("arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split())]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    size = heap.MMAP_THRESHOLD * 3 // 2
    def mapped():
        base = libc.mallinfo2().hblkhd
        a = np.empty(size, np.uint8)
        grew = libc.mallinfo2().hblkhd - base
        del a
        return grew >= size
    mapped()
    print(mapped(), heap.limit_heap(), mapped())
    """
)


@glibc
def test_limit_heap_maps_chunk_sized_blocks():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "True"]


def test_npz_rows_release_the_heap_once_per_chunk(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(heap, "release", lambda: calls.append(1) or True)
    np.savez(tmp_path / "a.npz", x=np.arange(10.0), y=np.ones((10, 3)))
    with NpzReader(tmp_path / "a.npz", "file") as r:
        got = [d["x"] for d in r.rows(["x", "y"], 3)]
    assert len(got) == 4 and len(calls) == 4
    np.testing.assert_array_equal(np.concatenate(got), np.arange(10.0))


def test_chunked_cli_commands_limit_the_heap(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(heap, "limit_heap", lambda: calls.append(1) or True)
    rig = StereoRig(Camera("a", (1280, 720), K), Camera("b", (1280, 720), K, t=[-300.0, 0, 0]))
    save_rig(rig, tmp_path / "rig.toml", units="mm")
    uv = np.random.default_rng(0).normal([640, 360], 50, (5, 2, 17, 2))
    save_keypoints_2d(tmp_path / "kp.npz", Keypoints2D(uv, np.ones(uv.shape[:-1])))
    argv = ["refine", str(tmp_path / "kp.npz"), "--rig", str(tmp_path / "rig.toml"), "--method", "triangulate"]
    assert main([*argv, "--out", str(tmp_path / "p.npz")]) == 0, capsys.readouterr().err
    assert len(calls) == 1
    bench = write_tiny_bench(tmp_path / "t_stereo_test.npz", K)
    assert main(["eval", str(bench), "--json", str(tmp_path / "e.json")]) == 0, capsys.readouterr().err
    assert len(calls) == 2
