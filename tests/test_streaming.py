"""The CLI's chunked paths give what the whole-file paths give, row for row (refine, eval), and hold
no more than a chunk of frames at a time."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from binopose.cli import main
from binopose.geometry.rig import Camera, StereoRig, rodrigues_to_matrix, save_rig
from binopose.guard import probe_count
from binopose.io import Keypoints2D, load_keypoints_2d, save_keypoints_2d, save_poses
from binopose.refiner import Refiner
from binopose.skeleton import flip_permutation
from binopose.stream.keypoints import keypoint_chunks
from binopose.stream.lift import lift_chunks
from binopose.stream.poses import write_poses
from binopose.stream.refine import Normals
from binopose.video.pipeline import LiftConfig, lift
from binopose.viz import reproject

FORMATS = (".json", ".csv", ".trc", ".npz")


def _rig() -> StereoRig:
    K = np.array([[900.0, 0, 640], [0, 900, 360], [0, 0, 1]])
    dist = np.array([0.02, -0.01, 0.0, 0.0, 0.0])
    R = rodrigues_to_matrix(np.array([0.0, -0.2, 0.0]))
    return StereoRig(
        Camera("L", (1280, 720), K, dist), Camera("R", (1280, 720), K, dist, R, -R @ [600.0, 0, 0])
    )


def _keypoints(n: int = 203, seed: int = 0) -> Keypoints2D:
    """n frames of a moving skeleton, with pixel noise, missing joints and frames, and left/right swaps
    (runs of them, some longer than a chunk)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform([-250, -800, -150], [250, 800, 150], size=(17, 3))
    X = base + [0.0, 0, 4000] + np.arange(n)[:, None, None] * np.array([5.0, 0, 0])
    uv = reproject(X, _rig()) + rng.normal(0, 2, (n, 2, 17, 2))
    conf = rng.uniform(0.3, 1, (n, 2, 17))
    perm = flip_permutation()
    for a, b, v in ((10, 12, 1), (30, 75, 0), (140, 141, 1), (150, 203, 1)):
        uv[a:b, v], conf[a:b, v] = uv[a:b, v][:, perm], conf[a:b, v][:, perm]
    uv[5, 0, 3] = np.nan
    conf[5, 0, 3] = 0
    uv[90] = np.nan
    conf[90] = 0
    return Keypoints2D(uv, conf, np.stack([np.arange(n) + 100] * 2, 1), {"source": "test"})


@pytest.mark.parametrize(
    "refine, settings",
    [
        (False, {}),
        (True, {}),  # the default options: definitions kept, gate "lcb" (sums over all frames)
        (True, {"hypotheses": 2, "chunk": 15}),  # blocks whose random draws are not multiples of 16
        (True, {"gate": "mean"}),
        (True, {"definitions": "keep-torso"}),
        (True, {"gate": "lcb-joints"}),
        (True, {"gate_noise": "common"}),
        (True, {"gate": "lcb-split"}),
        (True, {"gate": "off", "definitions": "model"}),
    ],
)
def test_chunked_lift_equals_whole_lift_row_for_row(tmp_path, refine, settings):
    rig, path = _rig(), tmp_path / "kp.npz"
    save_keypoints_2d(path, _keypoints())
    ref = Refiner.load(**({"chunk": 16} | settings)) if refine else None
    cfg = LiftConfig(refine=refine)
    whole, info = lift(load_keypoints_2d(path), rig, cfg, 30.0, refiner=ref)
    assert info["lr_swapped_frames"] > 50  # the swaps are there, and repaired across chunks
    n, chunks = keypoint_chunks(path, chunk=9)
    counts: dict = {}
    parts = list(lift_chunks(chunks, rig, cfg, 30.0, False, ref, counts, spill_dir=tmp_path))
    assert counts["lr_swapped_frames"] == info["lr_swapped_frames"] and n == len(whole)
    if refine and ref.options.gate != "off":  # the gate found the same, and it did something
        assert 0 < info["gate"]["alpha"] < 1 and counts["gate"]["frames"] == info["gate"]["frames"]
        for k in ("alpha", "noise_rel", "risk_change_mm2"):
            assert counts["gate"][k] == pytest.approx(info["gate"][k], rel=1e-9, abs=1e-12), k
    assert not list(tmp_path.glob(".binopose-spill-*"))  # no temporary file left
    # equal up to float64 rounding (torch's batched linear algebra rounds by batch size)
    got = np.concatenate([p.poses for p in parts])
    np.testing.assert_allclose(got, whole.poses, rtol=0, atol=1e-6)
    unc = np.concatenate([p.uncertainty for p in parts])
    np.testing.assert_allclose(unc, whole.uncertainty, rtol=0, atol=1e-6)
    assert np.array_equal(np.concatenate([p.frame_index for p in parts]), whole.frame_index)
    # the files: byte for byte what save_poses writes of the same poses
    same = type(whole)(got, unc, whole.frame_index, 30.0, whole.meta)
    for ext in FORMATS:
        a, b = tmp_path / "whole" / f"p{ext}", tmp_path / "chunked" / f"p{ext}"
        save_poses(a, same)
        write_poses(b, n, 30.0, whole.meta, iter(parts))
        if ext == ".npz":
            a, b = np.load(a), np.load(b)
            assert a.files == b.files
            for k in a.files:
                assert np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f"), k
        else:
            assert a.read_bytes() == b.read_bytes(), ext


@pytest.mark.parametrize(
    "total, takes", [(68 * 7, [68, 136, 272]), (68 * 5, [1, 15, 17, 300, 7]), (16, [16])]
)
def test_normals_in_pieces_are_the_one_draw(total, takes):
    """The gate's probes drawn a block at a time are the numbers of one torch.randn over all frames."""
    whole = torch.randn(total, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    normals = Normals(total, torch.Generator().manual_seed(3))
    assert torch.equal(torch.cat([normals.take(k) for k in takes]), whole)


def _mixed_benchmark(tmp_path):
    """Three subjects, frames interleaved (a fold's frames are scattered over the chunks)."""
    from test_eval_cli import make_benchmark

    a, b = (
        make_benchmark(noise_px=2.0, bias_px=1.5, n_per=12, seed=1),
        make_benchmark(noise_px=2.0, n_per=6, seed=2),
    )
    b["subject"] = np.where(b["subject"] == "S1", "S3", "S1")
    arrays = {k: np.concatenate([a[k], b[k]]) for k in a if a[k].ndim and len(a[k]) == len(a["subject"])}
    arrays.update({k: a[k] for k in ("pred2d_err_mean_px", "pred2d_err_scale_px")})
    order = np.random.default_rng(0).permutation(len(arrays["subject"]))
    arrays = {k: v[order] if len(v) == len(order) else v for k, v in arrays.items()}
    path = tmp_path / "mixed_stereo_test.npz"
    np.savez_compressed(path, **arrays)
    return path


def _close(a, b, path=""):
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-7, abs=1e-9, nan_ok=True), (path, a, b)
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize(
    "method, protocol",
    [
        ("triangulate", "raw"),
        ("triangulate", "official"),
        ("triangulate", "cross-subject"),
        ("calibrated-bias", "official"),
        ("body-offsets", "cross-subject"),
        ("dualdiff", "official"),
        ("dualdiff", "cross-subject"),
    ],
)
def test_chunked_eval_equals_whole_eval(tmp_path, monkeypatch, method, protocol):
    from binopose import stream
    from binopose.data.benchmark import load_benchmark
    from binopose.evaluate import (
        dualdiff_method,
        evaluate,
        triangulation_method,
        with_body_offsets,
        with_calibrated_bias,
    )
    from binopose.stream.evaluate import evaluate_file

    path = _mixed_benchmark(tmp_path)
    if method == "dualdiff":
        build = lambda: dualdiff_method(Refiner.load(hypotheses=2, chunk=16), "root", level="auto")  # noqa: E731
    elif method == "calibrated-bias":
        build = lambda: with_calibrated_bias(triangulation_method("none"))  # noqa: E731
    elif method == "body-offsets":
        build = lambda: with_body_offsets(triangulation_method("mean"))  # noqa: E731
    else:
        build = lambda: triangulation_method("mean")  # noqa: E731
    whole, _ = evaluate(load_benchmark(path), build(), protocol, name=method)
    monkeypatch.setattr(stream, "CHUNK", 16)
    calls = []
    chunked = evaluate_file(path, _spy(build(), calls), protocol, name=method)
    assert max(calls) <= 16 and sum(calls) >= whole["frames"]
    assert whole["frames"] == 108 and whole["per_subject"].keys() == {"S1", "S2", "S3"}
    _close(whole, chunked)


def _spy(method, calls):
    """The method, recording how many frames each prediction gets."""
    from binopose.methods import Method

    def prepare(frames, stats):
        predict = method.prepare(frames, stats)
        return lambda b: (calls.append(len(b)), predict(b))[1]

    return Method(prepare)


def test_cli_refine_reads_and_refines_a_chunk_at_a_time(tmp_path, capsys, monkeypatch):
    """``binopose refine`` on an NPZ never hands the refiner more than a chunk, reads the file in chunks,
    and writes what the whole-file path gives (today's path refined the whole file in one call)."""
    from binopose import stream

    rig, path = _rig(), tmp_path / "kp.npz"
    save_keypoints_2d(path, _keypoints(seed=3))
    save_rig(rig, tmp_path / "rig.toml", units="mm")
    whole, _ = lift(load_keypoints_2d(path), rig, LiftConfig(), 25.0, refiner=Refiner.load())
    calls, load, network = [], Refiner.load.__func__, Refiner.network_pass

    def spy(self, kp, *a, **k):
        calls.append(len(kp))
        return network(self, kp, *a, **k)

    monkeypatch.setattr(
        Refiner, "load", classmethod(lambda cls, *a, **k: load(cls, *a, **{**k, "chunk": 16}))
    )
    monkeypatch.setattr(Refiner, "network_pass", spy)
    monkeypatch.setattr(stream, "CHUNK", 16)
    monkeypatch.setattr(torch, "as_tensor", _no_whole_file(torch.as_tensor, len(whole)))
    out = tmp_path / "p.json"
    argv = ["refine", str(path), "--rig", str(tmp_path / "rig.toml"), "--out", str(out), "--fps", "25"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "203 poses" in capsys.readouterr().out
    complete = int(np.isfinite(whole.poses).all((1, 2)).sum())
    # the network sees a chunk at a time: the poses, then the gate's probes of them (a round each)
    assert max(calls) <= 16 and sum(calls) == complete * (1 + probe_count(complete))
    doc = json.loads(out.read_text())
    got = np.array([[[np.nan if v is None else v for v in j] for j in f["joints_mm"]] for f in doc["frames"]])
    np.testing.assert_allclose(got, whole.poses, rtol=0, atol=2e-3)  # the JSON keeps 3 decimals


def _no_whole_file(as_tensor, n):
    """torch.as_tensor that refuses arrays of the whole file's length (the whole-file path makes them)."""

    def guarded(a, *args, **kwargs):
        if getattr(a, "ndim", 0) >= 3 and len(a) == n:
            raise AssertionError(f"an array of all {n} frames at once")
        return as_tensor(a, *args, **kwargs)

    return guarded
