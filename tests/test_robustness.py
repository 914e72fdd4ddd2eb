"""Hostile input: pickled model files, failing writes, bad files and options on every command, degenerate
geometry. Each case ends in a BinoposeError (CLI: one line on stderr, exit code 2) or in a documented,
flagged fallback (NaN for a joint that cannot be triangulated); see docs/ROBUSTNESS.md."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import write_tiny_bench

from binopose import io_utils
from binopose.checkpoint import load_checkpoint, load_model, save_checkpoint
from binopose.cli import main
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.rig import Camera, StereoRig, save_rig
from binopose.io import Keypoints2D, Poses3D, load_poses, save_keypoints_2d, save_poses

K = np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]])


# --- model files never execute code ----------------------------------------------------------------------
class Payload:
    """Unpickling this creates the marker file: the test fails if that ever happens."""

    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def payload_bytes(marker: Path, how: str) -> bytes:
    Payload.marker = str(marker)
    if how == "pickle":
        return pickle.dumps({"state": Payload()})
    buf = io.BytesIO()
    torch.save({"state": Payload(), "w": torch.zeros(2)}, buf)  # a zip with data.pkl inside
    return buf.getvalue()


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
@pytest.mark.parametrize("name", ["model.safetensors", "model.pt", "checkpoint.safetensors"])
def test_pickled_model_is_refused_and_never_runs(tmp_path, how, name):
    from binopose.refiner import Refiner

    marker = tmp_path / "PAYLOAD_RAN"
    f = tmp_path / "m" / name
    f.parent.mkdir()
    f.write_bytes(payload_bytes(marker, how))
    for load in (load_model, load_checkpoint, Refiner.load):
        with pytest.raises(BinoposeError):
            load(f)
    with pytest.raises(BinoposeError):
        Refiner.load(f.parent)  # the folder form looks for model.safetensors
    assert not marker.exists()


def test_pickled_model_on_the_command_line(tmp_path, capsys, bench_file):
    marker = tmp_path / "PAYLOAD_RAN"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(payload_bytes(marker, "torch.save"))
    rc = main(["eval", str(bench_file), "--method", "dualdiff", "--model", str(evil)])
    assert rc == 2 and not marker.exists()
    assert one_line_error(capsys)


# --- atomic writes ----------------------------------------------------------------------------------------
def poses(n: int, value: float) -> Poses3D:
    return Poses3D(np.full((n, 17, 3), value), np.ones((n, 17)), fps=30.0)


@pytest.mark.parametrize("ext", ["json", "npz", "csv", "trc"])
def test_failed_write_keeps_previous_output(tmp_path, monkeypatch, ext):
    out = tmp_path / f"poses.{ext}"
    save_poses(out, poses(3, 1.0))
    before = out.read_bytes()

    real_replace = os.replace

    def full_disk(fd):  # the data is written, then flushing it fails (ENOSPC)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io_utils.os, "fsync", full_disk)
    with pytest.raises(OSError):
        save_poses(out, poses(5, 2.0))
    monkeypatch.undo()
    assert out.read_bytes() == before
    assert os.replace is real_replace
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_writer_raising_midway_leaves_nothing_behind(tmp_path):
    out = tmp_path / "rig.toml"
    save_rig(StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-100, 0, 0])), out)
    before = out.read_text()

    def half_then_fail(p: Path) -> None:
        p.write_text(before[: len(before) // 2])
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        io_utils.atomic_write(out, half_then_fail)
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rig.toml"]


def test_temporary_files_of_a_killed_writer_are_cleaned_up(tmp_path):
    """A SIGKILL between creating the temporary file and the rename leaves it behind; the next
    write of the same file removes it once it is stale, and leaves a fresh one (a live writer) alone."""
    import os
    import time

    out = tmp_path / "poses.json"
    stale, fresh = tmp_path / ".poses.json.abc123.tmp", tmp_path / ".poses.json.def456.tmp"
    other = tmp_path / ".other.json.abc123.tmp"
    for f in (stale, fresh, other):
        f.write_text("half")
    old = time.time() - io_utils.STALE_TMP_SECONDS - 60
    for f in (stale, other):
        os.utime(f, (old, old))
    io_utils.atomic_write_text(out, "{}")
    assert out.read_text() == "{}"
    assert not stale.exists() and fresh.exists() and other.exists()


def test_checkpoint_write_failure_keeps_previous_checkpoint(tmp_path, monkeypatch):
    ck = tmp_path / "checkpoint.safetensors"
    save_checkpoint(ck, {"w": torch.ones(3)}, {"step": 1})
    import binopose.checkpoint as checkpoint

    def boom(tensors, path, metadata=None):
        Path(path).write_bytes(b"\0" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", boom)
    with pytest.raises(OSError):
        save_checkpoint(ck, {"w": torch.zeros(3)}, {"step": 2})
    state, info = load_checkpoint(ck)
    assert info["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == [ck.name]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory(tmp_path):
    save_poses(tmp_path / "p.json", poses(2, 1.0))
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(OSError):
            save_poses(tmp_path / "p.json", poses(4, 2.0))
    finally:
        tmp_path.chmod(0o755)
    assert len(load_poses(tmp_path / "p.json")) == 2


# --- every command: one line, exit code 2 -----------------------------------------------------------------
def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def bench_file(tmp_path) -> Path:
    return write_tiny_bench(tmp_path / "bench.npz", K)


@pytest.fixture
def files(tmp_path, bench_file) -> dict[str, Path]:
    rig = tmp_path / "rig.toml"
    save_rig(StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-300, 0, 0])), rig, "mm")
    kp = tmp_path / "kp.npz"
    left = np.random.default_rng(4).uniform(250, 350, (17, 2))
    uv = np.stack([left, left - [60, 0]])[None].repeat(2, 0)  # (2, 2, 17, 2), 60 px disparity
    save_keypoints_2d(kp, Keypoints2D(uv, None))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(os.urandom(300))
    junkzip = tmp_path / "junk.npz"
    with zipfile.ZipFile(junkzip, "w") as z:
        z.writestr("kp2d.npy", b"\x93NUMPY junk")
    zero_baseline = tmp_path / "zero.toml"
    zero_baseline.write_text(rig.read_text().replace("-300.0", "0.0"))
    singular = tmp_path / "singular.toml"
    singular.write_text(rig.read_text().replace("[1000.0, 0.0, 320.0]", "[0.0, 0.0, 320.0]", 1))
    nan_rig = tmp_path / "nan.toml"
    nan_rig.write_text(rig.read_text().replace("-300.0", "nan"))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    notvideo = tmp_path / "clip.mp4"
    notvideo.write_bytes(b"not a video at all" * 100)
    return dict(
        bench=bench_file, rig=rig, kp=kp, garbage=garbage, junkzip=junkzip, zero=zero_baseline,
        singular=singular, nan=nan_rig, empty=empty, notvideo=notvideo, missing=tmp_path / "nope.npz",
        out=tmp_path / "out.json", dir=tmp_path,
    )  # fmt: skip


BAD_ARGV = [
    ["eval", "{missing}"],
    ["eval", "{garbage}"],
    ["eval", "{junkzip}"],
    ["eval", "{empty}"],
    ["eval", "{kp}"],  # a valid npz of another kind
    ["eval", "{bench}", "--protocol", "bogus"],
    ["eval", "{bench}", "--method", "bogus"],
    ["eval", "{bench}", "--protocol", "official"],  # the file has no official 2D statistics
    ["eval", "{bench}", "--method", "dualdiff", "--steps", "0"],
    ["eval", "{bench}", "--method", "dualdiff", "--model", "{garbage}"],
    ["eval", "{bench}", "--method", "dualdiff", "--model", "{missing}"],
    ["eval", "{bench}", "--bias", "nope"],
    ["refine", "{kp}", "--rig", "{missing}", "--out", "{out}", "--method", "triangulate"],
    ["refine", "{kp}", "--rig", "{garbage}", "--out", "{out}", "--method", "triangulate"],
    ["refine", "{kp}", "--rig", "{zero}", "--out", "{out}", "--method", "triangulate"],
    ["refine", "{kp}", "--rig", "{singular}", "--out", "{out}", "--method", "triangulate"],
    ["refine", "{kp}", "--rig", "{nan}", "--out", "{out}", "--method", "triangulate"],
    ["refine", "{kp}", "--rig", "{rig}", "--cameras", "a", "b", "--out", "{out}"],
    ["refine", "{garbage}", "--rig", "{rig}", "--out", "{out}"],
    ["refine", "{junkzip}", "--rig", "{rig}", "--out", "{out}"],
    ["refine", "{bench}", "--rig", "{rig}", "--out", "{out}"],
    ["refine", "{kp}", "--rig", "{rig}", "--out", "{dir}/poses.xyz"],
    ["refine", "{kp}", "--rig", "{rig}", "--out", "{out}", "--model", "{garbage}"],
    ["run", "--left", "{missing}", "--right", "{missing}", "--rig", "{rig}", "--out", "{dir}/o"],
    ["run", "--left", "{notvideo}", "--right", "{notvideo}", "--rig", "{rig}", "--out", "{dir}/o"],
    ["run", "--left", "{dir}", "--right", "{dir}", "--rig", "{missing}", "--out", "{dir}/o"],
    ["calibrate", "--left", "{missing}", "--right", "{missing}", "--out", "{dir}/c.toml"],
    ["calibrate", "--left", "{notvideo}", "--right", "{notvideo}", "--out", "{dir}/c.toml"],
    ["demo", "--model", "{garbage}", "--out", "{dir}/demo", "--max-frames", "1", "--quiet"],
    ["bogus-command"],
    ["eval"],
    ["refine", "{kp}"],
    ["eval", "{bench}", "--steps", "x"],
]


@pytest.mark.parametrize("argv", BAD_ARGV, ids=lambda a: " ".join(a)[:60])
def test_bad_input_is_one_line_exit_2(argv, files, capsys):
    argv = [a.format(**files) for a in argv]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse usage errors
        rc = e.code
    assert rc == 2
    line = one_line_error(capsys)
    assert "error" in line


# --- degenerate geometry: NaN and a flag, never a silent number --------------------------------------------
def test_joint_seen_by_one_view_is_nan():
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-300, 0, 0]]]))
    X = torch.tensor(np.random.default_rng(1).normal(0, 200, (17, 3)) + [0, 0, 3000])
    uv = project(X, P)
    uv[1, 4] = float("nan")
    conf = torch.ones(2, 17, dtype=torch.float64)
    conf[0, 7] = 0
    out = triangulate(uv, P, conf)
    assert torch.isnan(out[[4, 7]]).all()
    others = [j for j in range(17) if j not in (4, 7)]
    torch.testing.assert_close(out[others], X[others])


def test_parallel_rays_are_nan():
    # a point at infinity along the optical axis: both rays parallel (same pixel, zero disparity)
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-300, 0, 0]]]))
    uv = torch.full((2, 17, 2), 0.0, dtype=torch.float64)
    uv[..., 0], uv[..., 1] = 320.0, 240.0
    out = triangulate(uv, P)
    assert not torch.isfinite(out).all(-1).any() or (out[..., 2].abs() > 1e9).all()


def test_points_behind_the_cameras_are_returned_as_is():
    # linear triangulation has no notion of "in front": documented, and flagged by a negative depth
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-300, 0, 0]]]))
    X = torch.tensor(np.random.default_rng(2).normal(0, 200, (17, 3)) + [0, 0, -3000])
    out = triangulate(project(X, P), P)
    torch.testing.assert_close(out, X)
    assert (out[..., 2] < 0).all()


@pytest.mark.parametrize("baseline", [1e-9, 0.0])
def test_zero_baseline_rig_is_refused(baseline):
    with pytest.raises(BinoposeError, match="baseline"):
        StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-baseline, 0, 0]))


def test_huge_baseline_still_triangulates():
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-1e7, 0, 0]]]))
    X = torch.tensor(np.random.default_rng(3).normal(0, 200, (17, 3)) + [0, 0, 3e6])
    torch.testing.assert_close(triangulate(project(X, P), P), X, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("bad", ["singular", "nan", "lower"])
def test_bad_intrinsics_are_refused(bad):
    Kb = K.copy()
    if bad == "singular":
        Kb[0, 0] = 0
    elif bad == "nan":
        Kb[1, 2] = np.nan
    else:
        Kb[1, 0] = 5
    with pytest.raises(BinoposeError):
        Camera("c", (640, 480), Kb)


def tiny_model(folder: Path) -> Path:
    from binopose.bundle import write_bundle
    from binopose.data.presets import NoiseConfig, build_error_models
    from binopose.diffusion.conditioning import Conditioning
    from binopose.diffusion.schedule import Schedule
    from binopose.model import Denoiser, DenoiserConfig

    cfg = DenoiserConfig(dim=16, depth=1, heads=2, cond_dim=16)
    models, weights = build_error_models(NoiseConfig())
    state = Denoiser(cfg).state_dict()
    return write_bundle(folder, state, cfg, Schedule(), Conditioning(), models, weights, train={})


def test_refiner_bad_input_and_foreign_model(tmp_path):
    from binopose.refiner import Refiner

    ref = Refiner.load(tiny_model(tmp_path / "m"))
    rig = StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-300, 0, 0]))
    for kp in (np.zeros((3, 2, 16, 2)), np.zeros((2, 17, 2)), np.zeros((3, 3, 17, 2))):
        with pytest.raises(BinoposeError):
            ref.refine(kp, rig)
    with pytest.raises(BinoposeError):
        ref.refine(np.zeros((3, 2, 17, 2)), np.zeros((3, 4)))
    with pytest.raises(BinoposeError):
        ref.refine(np.zeros((3, 2, 17, 2)), rig, conf=np.ones((3, 17)))
    # all-NaN input: NaN out (flagged), not a guess
    res = ref.refine(np.full((2, 2, 17, 2), np.nan), rig)
    assert torch.isnan(res.poses).all()
    # a model from another architecture / version: one clear error
    from safetensors.torch import load_file, save_file

    st = tmp_path / "m" / "model.safetensors"
    from safetensors import safe_open

    with safe_open(str(st), "pt") as f:
        meta = f.metadata()
    state = load_file(str(st))
    state.pop(next(iter(state)))
    save_file(state, str(tmp_path / "other.safetensors"), metadata=meta)
    with pytest.raises(BinoposeError, match="does not match"):
        Refiner.load(tmp_path / "other.safetensors")
    meta2 = {**meta, "format": "binopose-model-0"}
    save_file(load_file(str(st)), str(tmp_path / "old.safetensors"), metadata=meta2)
    with pytest.raises(BinoposeError, match="not a binopose model"):
        Refiner.load(tmp_path / "old.safetensors")


def test_non_finite_projection_matrix_gives_nan():
    P = torch.tensor(np.stack([K @ np.eye(3, 4), K @ np.c_[np.eye(3), [-300, 0, 0]]]))
    P[1, 0, 0] = float("nan")
    uv = torch.full((2, 17, 2), 300.0, dtype=torch.float64)
    assert torch.isnan(triangulate(uv, P)).all()
