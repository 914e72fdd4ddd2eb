"""torch.distributed on the CPU (gloo, 2 processes): DDP training equals one process with the combined
batch, sharded refinement equals single-process refinement row for row, a run killed mid-way resumes with
another world size, and a manifest with a missing file fails one recording only.

The ranks are started the way torchrun starts them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT in the environment: the env:// rendezvous), by torchrun itself for the refinement."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import test_pipeline
import torch
from helpers import camera_frame_poses
from safetensors.torch import load_file
from test_eval_cli import make_benchmark
from test_kill_resume import tiny_corpus, write_run

from binopose import distributed
from binopose.checkpoint import load_checkpoint
from binopose.cli import main
from binopose.geometry.rig import Camera, StereoRig, save_rig
from binopose.io import Keypoints2D, load_poses, save_keypoints_2d
from binopose.refiner import Refiner

scene = test_pipeline.scene  # a fixture: two tiny videos, their rig, a fake detector
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ranks(argv: list[str], world: int) -> list[subprocess.Popen]:
    """``python argv...`` once per rank, with torchrun's environment."""
    port, procs = free_port(), []
    for r in range(world):
        env = ENV | {"RANK": str(r), "LOCAL_RANK": str(r), "WORLD_SIZE": str(world)}
        env |= {"LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        procs.append(
            subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        )
    return procs


def finish(procs: list[subprocess.Popen], timeout: float = 120) -> None:
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err.decode()[-3000:]


# --- (a) two ranks = one process with the combined batch ----------------------------------------------
STEP_SCRIPT = """
import sys, torch
from safetensors.torch import save_file
from binopose import distributed
from binopose.config import load_config
from binopose.training.train import TrainConfig, setup, train_step

cfg = load_config(TrainConfig, sys.argv[1], [f"out={sys.argv[2]}"])
with distributed.process_group("cpu"):
    run = setup(cfg)
    g = torch.Generator().manual_seed(7)
    B, W = cfg.batch_size, cfg.conditioning.evidence_width
    X = torch.randn(B, 17, 3, generator=g) * 100 + torch.tensor([0.0, 0.0, 3000.0])
    s, base = torch.rand(B, generator=g), torch.full((B,), 300.0)
    ev = torch.randn(B, 17, W, generator=g)
    target = X + torch.randn(B, 17, 3, generator=g) * 30
    share = B // distributed.world()
    rows = slice(distributed.rank() * share, (distributed.rank() + 1) * share)

    def fixed_loss(run):  # this rank's rows of one fixed batch, a mean over its rows
        x0, log_std = run.model(X[rows], s[rows], base[rows], ev[rows])
        return ((x0 - target[rows]) ** 2).mean() / 1e4 + (log_std**2).mean(), {}

    for _ in range(int(sys.argv[3])):
        train_step(run, fixed_loss)
    if distributed.is_main():
        save_file({**run.net.state_dict(), **{"ema." + k: v for k, v in run.ema.state_dict().items()}}, sys.argv[4])
"""


def test_ddp_two_ranks_equal_one_process_with_the_combined_batch(tmp_path):
    cfg = write_run(tmp_path, "cfg", tiny_corpus(tmp_path / "corpus.npz"))
    steps, one, two = "4", tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    ranks = start_ranks(["-c", STEP_SCRIPT, str(cfg), str(tmp_path / "r2"), steps, str(two)], 2)
    single = subprocess.Popen(
        [sys.executable, "-c", STEP_SCRIPT, str(cfg), str(tmp_path / "r1"), steps, str(one)],
        env=ENV,
        stderr=subprocess.PIPE,
    )
    finish([*ranks, single])
    a, b = load_file(str(one)), load_file(str(two))
    assert a.keys() == b.keys()
    for k in a:  # weights and EMA
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=k)
    assert any(not torch.equal(a[k], a["ema." + k]) for k in a if not k.startswith("ema."))  # it trained


# --- (b) sharded refinement = single-process refinement -----------------------------------------------
def keypoint_file(tmp_path: Path, n: int = 40) -> tuple[Path, Path]:
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 480], [0, 0, 1]])
    rig = StereoRig(Camera("l", (1280, 960), K), Camera("r", (1280, 960), K, t=[-300, 0, 0]))
    save_rig(rig, tmp_path / "rig.toml", "mm")
    X = camera_frame_poses(n, depth_mm=3500.0).double()
    P = rig.projection_matrices(torch.float64)
    Xh = torch.cat([X, torch.ones(n, 17, 1, dtype=X.dtype)], -1)
    proj = torch.einsum("vij,nkj->nvki", P, Xh)
    uv = (proj[..., :2] / proj[..., 2:]).numpy()
    uv = uv + np.random.default_rng(1).normal(0, 2.0, uv.shape)
    save_keypoints_2d(tmp_path / "kp.npz", Keypoints2D(uv, None))
    return tmp_path / "kp.npz", tmp_path / "rig.toml"


def one_and_two_ranks(args: list[str], out_flag: str, one: Path, two: Path) -> str:
    """Run ``binopose ARGS`` as one process (writing ``one``) and under torchrun with 2 ranks (writing
    ``two``); both must succeed. Returns torchrun's standard output."""
    single = subprocess.run([sys.executable, "-m", "binopose", *args, out_flag, str(one)], env=ENV)
    assert single.returncode == 0
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    torchrun += ["--master-port", str(free_port()), "-m", "binopose"]
    p = subprocess.run([*torchrun, *args, out_flag, str(two)], env=ENV, capture_output=True)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    return p.stdout.decode()


def test_distributed_refine_equals_single_process_row_for_row(tmp_path):
    kp, rig = keypoint_file(tmp_path)
    args = ["refine", str(kp), "--rig", str(rig), "--chunk", "8"]  # 40 frames: 5 chunks over 2 ranks
    out = one_and_two_ranks(args, "--out", tmp_path / "one.npz", tmp_path / "two.npz")
    assert out.count("poses (dualdiff") == 1  # rank 0 alone reports
    one, two = load_poses(tmp_path / "one.npz"), load_poses(tmp_path / "two.npz")
    # one process refines the file a chunk at a time (the gate from sums over the chunks, docs/ROBUSTNESS.md)
    # and torchrun in one call: equal to rounding (sums added in another order)
    np.testing.assert_allclose(two.poses, one.poses, rtol=0, atol=1e-9)
    np.testing.assert_allclose(two.uncertainty, one.uncertainty, rtol=0, atol=1e-9)
    assert two.meta == one.meta


def test_distributed_eval_equals_single_process(tmp_path):
    data = tmp_path / "bench.npz"
    np.savez(data, **make_benchmark(noise_px=2.0, n_per=8, seed=3))  # 48 frames, 2 subjects
    args = ["eval", str(data), "--protocol", "cross-subject", "--chunk", "4"]
    out = one_and_two_ranks(args, "--json", tmp_path / "one.json", tmp_path / "two.json")
    assert out.count("protocol cross-subject") == 1  # rank 0 alone reports
    # one process scores the file a chunk at a time (running sums), torchrun whole: equal to rounding
    two, one = (json.loads((tmp_path / f"{k}.json").read_text()) for k in ("two", "one"))
    assert _close(two, one)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict):
        assert list(a) == list(b)
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert len(a) == len(b)
        return all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True)
        return True
    assert a == b
    return True


@pytest.mark.parametrize("world, n, unit", [(2, 40, 8), (3, 40, 8), (4, 10, 8), (2, 7, 100)])
def test_distributed_shards_are_contiguous_whole_chunks_in_order(monkeypatch, world, n, unit):
    monkeypatch.setattr(distributed, "world", lambda: world)
    shards = []
    for r in range(world):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        shards.append(distributed.shard(n, unit))
    assert shards[0].start == 0 and shards[-1].stop == n
    for a, b in zip(shards, shards[1:]):
        assert a.stop == b.start
    assert all(s.start % unit == 0 or s.start == n for s in shards)  # a rank may get nothing
    sizes = [-(-(s.stop - s.start) // unit) for s in shards]
    assert max(sizes) - min(sizes) <= 1


# --- (c) a rank killed mid-run; resumed with another world size ----------------------------------------
def test_ddp_rank_killed_then_resumed_with_one_process(tmp_path):
    cfg = write_run(tmp_path, "run", tiny_corpus(tmp_path / "corpus.npz"))
    out = tmp_path / "run"
    ranks = start_ranks(["-m", "binopose", "train", "--config", str(cfg), "--no-progress"], 2)
    ckpt, deadline = out / "checkpoint.safetensors", time.time() + 90
    while not ckpt.exists() and all(p.poll() is None for p in ranks) and time.time() < deadline:
        time.sleep(0.02)
    assert ckpt.exists(), (
        ranks[0].stderr.read().decode()[-3000:] if ranks[0].poll() is not None else "timeout"
    )
    ranks[1].send_signal(signal.SIGKILL)  # one rank dies; its peer fails at the next all-reduce
    try:
        ranks[0].wait(timeout=30)
    except subprocess.TimeoutExpired:  # what torchrun would do: stop the rest of the group
        ranks[0].kill()
        ranks[0].wait()
    for p in ranks:
        p.communicate()
    _, info = load_checkpoint(ckpt)
    cut = info["step"]
    if cut >= 24:
        pytest.skip("the run finished before the kill landed")
    resumed = subprocess.run(
        [sys.executable, "-m", "binopose", "train", "--config", str(cfg), "--no-progress"],
        env=ENV,
        capture_output=True,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-3000:]
    tensors, info = load_checkpoint(ckpt)
    assert info["step"] == 24 and cut > 0
    assert info["log"][0] == {"step": 0, "world_size": 2}  # the same log, continued
    assert Refiner.load(out / "model").refine(*_one_pose()).poses.shape == (1, 17, 3)


def _one_pose() -> tuple[torch.Tensor, torch.Tensor]:
    K = torch.tensor([[1000.0, 0, 640], [0, 1000.0, 480], [0, 0, 1]], dtype=torch.float64)
    P = torch.stack([K @ torch.eye(3, 4, dtype=torch.float64), K @ torch.eye(3, 4, dtype=torch.float64)])
    P[1, 0, 3] = -300.0 * 1000.0
    X = camera_frame_poses(1, depth_mm=3500.0).double()
    Xh = torch.cat([X, torch.ones(1, 17, 1, dtype=X.dtype)], -1)
    proj = torch.einsum("vij,nkj->nvki", P, Xh)
    return proj[..., :2] / proj[..., 2:], P


# --- (d) a manifest with a missing file: one line for it, the others done, exit code 1 -----------------
def test_distributed_manifest_missing_file_fails_one_recording(scene, capsys, monkeypatch):
    d, _, _, _, factory, _ = scene
    monkeypatch.setattr("binopose.video.detect.make_detector", factory)
    manifest = d / "recordings.txt"
    manifest.write_text(
        "# left right rig out\n"
        "left.mp4 right.mp4 rig.toml out_a\n"
        "\n"
        "missing.mp4 right.mp4 rig.toml out_b\n"
        "left.mp4 right.mp4 rig.toml 'out c'\n"
    )
    code = main(["run", "--manifest", str(manifest), "--offset", "0", "--no-refine", "--no-viz", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "line 4" in err and "missing.mp4" in err, err
    assert (d / "out_a" / "poses_3d.npz").exists() and (d / "out c" / "poses_3d.npz").exists()
    assert not (d / "out_b").exists()
    assert "3 recordings: 2 done, 1 failed (line 4)" in out


@pytest.mark.parametrize(
    "text, problem",
    [
        ("a.mp4 b.mp4 rig.toml\n", "expected 4 fields"),
        ("# nothing\n", "lists no recordings"),
        (None, "no such file"),
    ],
)
def test_distributed_manifest_usage_errors(tmp_path, capsys, text, problem):
    manifest = tmp_path / "m.txt"
    if text is not None:
        manifest.write_text(text)
    assert main(["run", "--manifest", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err, err
    assert main(["run", "--manifest", str(manifest), "--left", "x.mp4"]) == 2
    assert main(["run", "--right", "x.mp4"]) == 2
    assert "give --left, --right and --rig" in capsys.readouterr().err


MANIFEST_SCRIPT = """
import sys
from binopose import distributed
from binopose.cli.manifest import Recording, run_manifest

def process(rec):
    if rec.line == 3:
        raise FileNotFoundError("no such file: 'gone.mp4'")
    return f"done by rank {distributed.rank()}"

with distributed.process_group("cpu"):
    code = run_manifest([Recording(n, f"l{n}.mp4", f"r{n}.mp4", "rig.toml", f"out{n}") for n in (1, 2, 3, 4)], process)
sys.exit(code)
"""


def test_distributed_manifest_recordings_shared_over_two_ranks():
    ranks = start_ranks(["-c", MANIFEST_SCRIPT], 2)
    outs = [p.communicate(timeout=60) for p in ranks]
    assert [p.returncode for p in ranks] == [1, 1]  # every rank says that something failed
    (out0, err0), (out1, err1) = ((o.decode(), e.decode()) for o, e in outs)
    assert "line 1 " in out0 and "line 3 " in err0 and "line 2 " in out1 and "line 4 " in out1
    assert "done by rank 0" in out0 and "done by rank 1" in out1 and "line 1 " not in out1
    assert "4 recordings: 3 done, 1 failed (line 3)" in out0 and "recordings:" not in out1
    assert err0.count("\n") == 1 and "gone.mp4" in err0 and err1 == ""


def test_ddp_batch_must_divide_over_the_ranks(monkeypatch):
    from binopose.errors import BinoposeError
    from binopose.training.distributed import local_batch

    monkeypatch.setattr(distributed, "world", lambda: 4)
    assert local_batch(1024) == 256
    with pytest.raises(BinoposeError, match="not divisible by the world size 4"):
        local_batch(1022)
