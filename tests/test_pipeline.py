"""Video pipeline end to end on tiny synthetic videos with a fake detector that returns the projection
of a known 3D pose; offsets, resume, left/right repair, smoothing, and one-line CLI errors."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import torch

from binopose.cli import main
from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, StereoRig, rodrigues_to_matrix, save_rig
from binopose.io import Keypoints2D, load_keypoints_2d, load_poses
from binopose.skeleton import flip_permutation
from binopose.video.media import open_media
from binopose.video.pair_detection import frame_ranges
from binopose.video.pipeline import LiftConfig, fix_left_right, lift, one_euro, run_pipeline
from binopose.viz import reproject

W, H, N = 64, 48, 8


def make_rig() -> StereoRig:
    K = np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]])
    dist = np.array([0.02, -0.01, 0.0, 0.0, 0.0])
    left = Camera("L", (W, H), K, dist)
    R = rodrigues_to_matrix(np.array([0.0, -0.25, 0.0]))
    right = Camera("R", (W, H), K, dist, R, -R @ np.array([800.0, 0, 0]))
    return StereoRig(left, right)


def known_poses(n: int = N) -> np.ndarray:
    """(n, 17, 3) mm: a rough standing skeleton 4 m in front of the left camera, moving sideways."""
    rng = np.random.default_rng(0)
    base = rng.uniform([-250, -800, -150], [250, 800, 150], size=(17, 3))
    t = np.arange(n)[:, None, None]
    return base + np.array([200.0, 0, 4000]) + t * np.array([15.0, 0, 0])


class FakeDetector:
    """Reads the frame index from the image brightness and returns that frame's projection."""

    name = "fake"

    def __init__(self, uv: np.ndarray, calls: list) -> None:
        self.uv, self.calls = uv, calls  # (N, 17, 2) distorted pixels of this view

    def detect(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = int(round((frame_bgr.mean() - 10) / 20))
        self.calls.append(i)
        return self.uv[i].copy(), np.ones(17)

    def close(self) -> None:
        pass


def write_video(path, n: int = N, mark: int | None = None) -> None:
    """Frame i has brightness 10 + 20 i; ``mark`` paints a 4x4 corner (two cameras' videos differ)."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (W, H))
    for i in range(n):
        img = np.full((H, W, 3), 10 + 20 * i, np.uint8)
        if mark is not None:
            img[:4, :4] = mark
        w.write(img)
    w.release()


@pytest.fixture
def scene(tmp_path):
    rig = make_rig()
    X = known_poses()
    uv = reproject(X, rig)  # (N, 2, 17, 2) with lens distortion
    write_video(tmp_path / "left.mp4")
    write_video(tmp_path / "right.mp4", mark=255)
    save_rig(rig, tmp_path / "rig.toml", units="mm")
    calls: list = []
    views = itertools.count()
    factory = lambda: FakeDetector(uv[:, next(views) % 2], calls)  # noqa: E731
    return tmp_path, rig, X, uv, factory, calls


def test_video_reader(tmp_path):
    write_video(tmp_path / "a.mp4")
    src = open_media(tmp_path / "a.mp4")
    assert (src.info.frames, src.info.size, src.info.kind) == (N, (W, H), "video")
    assert src.info.fps == pytest.approx(30.0)
    got = [(i, int(round((f.mean() - 10) / 20))) for i, f in src.frames(2, 5)]
    assert got == [(2, 2), (3, 3), (4, 4)]
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((H, W, 3), i, np.uint8))
    src = open_media(folder, fps=25)
    assert (src.info.frames, src.info.size, src.info.fps) == (3, (W, H), 25)
    assert [int(f[0, 0, 0]) for _, f in src.frames()] == [0, 1, 2]


@pytest.mark.parametrize("bad", ["missing.mp4", "text.mp4", "empty_dir"])
def test_video_reader_bad_media(tmp_path, bad):
    (tmp_path / "text.mp4").write_text("not a video")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(BinoposeError):
        open_media(tmp_path / bad)


def test_pipeline_recovers_known_poses(scene):
    d, rig, X, _, factory, _ = scene
    cfg = LiftConfig(refine=False)
    s = run_pipeline(d / "left.mp4", d / "right.mp4", rig, d / "out", cfg, factory, viz=False, progress=False)
    assert s["frames"] == N and s["frames_complete_3d"] == N and s["lr_swapped_frames"] == 0
    poses = load_poses(d / "out" / "poses_3d.npz")
    np.testing.assert_allclose(poses.poses, X, atol=0.05)  # mm, through distortion and back
    assert np.nanmax(poses.uncertainty) < 0.1
    assert poses.fps == pytest.approx(30.0)
    for k in ("poses_json", "poses_csv", "poses_trc", "keypoints_2d", "summary"):
        assert (d / "out").joinpath(s["files"][k]).stat().st_size > 0


def test_pipeline_offset(scene):
    d, rig, X, _, factory, calls = scene
    cfg = LiftConfig(refine=False)
    s = run_pipeline(
        d / "left.mp4", d / "right.mp4", rig, d / "o", cfg, factory, offset=2, viz=False, progress=False
    )
    assert s["frames"] == N - 2 and frame_ranges(N, N, 2) == (0, 2, N - 2)
    kp = load_keypoints_2d(d / "o" / "keypoints_2d.npz")
    np.testing.assert_array_equal(kp.frame_index[:, 1] - kp.frame_index[:, 0], 2)
    assert frame_ranges(10, 8, -3) == (3, 0, 7)


def test_pipeline_resume_detects_only_the_rest(scene):
    d, rig, X, _, factory, calls = scene
    cfg = LiftConfig(refine=False)
    run_pipeline(
        d / "left.mp4", d / "right.mp4", rig, d / "r", cfg, factory, max_frames=3, viz=False, progress=False
    )
    calls.clear()
    s = run_pipeline(
        d / "left.mp4", d / "right.mp4", rig, d / "r", cfg, factory, resume=True, viz=False, progress=False
    )
    assert sorted(calls) == sorted(list(range(3, N)) * 2) and s["detected_pairs_this_run"] == N - 3
    np.testing.assert_allclose(load_poses(d / "r" / "poses_3d.json").poses, X, atol=0.05)


@pytest.mark.parametrize("view", [0, 1])
def test_lr_fix_repairs_the_swapped_view(scene, view):
    _, rig, X, _, _, _ = scene
    P = rig.projection_matrices(torch.float64)
    ideal = torch.as_tensor(
        reproject(
            X, StereoRig(*[Camera(c.name, c.size, c.K, np.zeros(5), c.R, c.t) for c in (rig.left, rig.right)])
        )
    )
    bad = ideal.clone()
    bad[[1, 4, 5], view] = ideal[[1, 4, 5], view][:, flip_permutation()]
    conf = torch.ones(bad.shape[:-1], dtype=torch.float64)
    fixed, _, swapped = fix_left_right(bad, conf, P)
    assert swapped.tolist() == [i in (1, 4, 5) for i in range(N)]
    torch.testing.assert_close(fixed, ideal)


def test_lift_from_keypoints_and_smoothing(scene):
    _, rig, X, uv, _, _ = scene
    poses, info = lift(Keypoints2D(uv, None), rig, LiftConfig(refine=False, smooth="oneeuro"), fps=30.0)
    # linear motion: the forward and backward passes' lags cancel inside the clip, half-cancel at its ends
    np.testing.assert_allclose(poses.poses[2:-2], X[2:-2], atol=2.0)
    np.testing.assert_allclose(poses.poses, X, atol=15.0)
    noisy = np.cumsum(np.ones((200, 1, 3)), 0) + np.random.default_rng(0).normal(0, 5, (200, 1, 3))
    sm = one_euro(noisy, 60.0)
    assert np.std(sm - np.cumsum(np.ones((200, 1, 3)), 0)) < 0.5 * np.std(
        noisy - np.cumsum(np.ones((200, 1, 3)), 0)
    )
    gap = noisy.copy()
    gap[50] = np.nan
    assert np.isnan(one_euro(gap, 60.0)[50]).all() and np.isfinite(one_euro(gap, 60.0)[51]).all()


def test_refine_requested_without_refiner_is_a_clear_error(scene, monkeypatch):
    _, rig, _, uv, _, _ = scene
    import sys

    monkeypatch.setitem(sys.modules, "binopose.refiner", None)  # import fails as if not installed
    with pytest.raises(BinoposeError, match="--no-refine"):
        lift(Keypoints2D(uv, None), rig, LiftConfig(refine=True))


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_errors_are_one_line(scene, capsys):
    d, rig, *_ = scene
    (d / "text.mp4").write_text("not a video")
    small = make_rig()
    save_rig(StereoRig(Camera("L", (32, 24), small.left.K), small.right), d / "small.toml", units="mm")
    cases = [
        (
            "run",
            "--left",
            str(d / "left.mp4"),
            "--right",
            str(d / "right.mp4"),
            "--rig",
            str(d / "nope.toml"),
        ),
        ("run", "--left", str(d / "text.mp4"), "--right", str(d / "right.mp4"), "--rig", str(d / "rig.toml")),
        (
            "run",
            "--left",
            str(d / "left.mp4"),
            "--right",
            str(d / "right.mp4"),
            "--rig",
            str(d / "small.toml"),
        ),
        ("refine", str(d / "nope.npz"), "--rig", str(d / "rig.toml"), "--out", str(d / "p.npz")),
        ("refine", str(d / "rig.toml"), "--rig", str(d / "rig.toml"), "--out", str(d / "p.npz")),
    ]
    for argv in cases:
        code, _, err = _cli(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and "error" in err, (argv, err)
    assert "calibrated at 32x24" in _cli(capsys, *cases[2])[2]


def test_cli_refine_triangulate(scene, capsys, tmp_path):
    d, rig, X, uv, *_ = scene
    from binopose.io import save_keypoints_2d

    save_keypoints_2d(d / "kp.json", Keypoints2D(uv, np.ones(uv.shape[:-1])))
    code, out, _ = _cli(
        capsys,
        "refine",
        str(d / "kp.json"),
        "--rig",
        str(d / "rig.toml"),
        "--method",
        "triangulate",
        "--out",
        str(d / "p.csv"),
    )
    assert code == 0 and "8 poses" in out
    np.testing.assert_allclose(load_poses(d / "p.csv").poses, X, atol=0.05)
    # a bad model is an error even when no frame has anything to refine
    save_keypoints_2d(d / "empty.json", Keypoints2D(np.full_like(uv, np.nan), np.zeros(uv.shape[:-1])))
    argv = ("refine", str(d / "empty.json"), "--rig", str(d / "rig.toml"), "--out", str(d / "q.csv"))
    code, _, err = _cli(capsys, *argv, "--model", str(d / "no_model"))
    assert code == 2 and err.count("\n") == 1 and "model" in err, err
    assert not (d / "q.csv").exists()


def test_pipeline_on_image_folders(scene):
    d, rig, X, _, factory, _ = scene
    for side in ("l", "r"):
        (d / side).mkdir()
        for i in range(N):
            cv2.imwrite(str(d / side / f"{i:04d}.png"), np.full((H, W, 3), 10 + 20 * i, np.uint8))
    cfg = LiftConfig(refine=False, smooth="oneeuro")
    s = run_pipeline(d / "l", d / "r", rig, d / "img", cfg, factory, fps=30.0, viz=False, progress=False)
    assert s["frames"] == N and s["fps"] == 30.0
    np.testing.assert_allclose(load_poses(d / "img" / "poses_3d.csv").poses[2:-2], X[2:-2], atol=2.0)


def test_cli_refine_compile_failure_is_named(scene, capsys, monkeypatch):
    d, rig, X, uv, *_ = scene
    from binopose.io import save_keypoints_2d

    def broken(net, dynamic):
        def call(*args):
            raise RuntimeError("no working C++ compiler\nmore lines")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    save_keypoints_2d(d / "kp.json", Keypoints2D(uv, np.ones(uv.shape[:-1])))
    argv = ("refine", str(d / "kp.json"), "--rig", str(d / "rig.toml"), "--out", str(d / "c.csv"))
    code, _, err = _cli(capsys, *argv, "--compile")
    assert code == 2 and err.count("\n") == 1 and "torch.compile failed" in err, err
    assert "cannot load the refiner model" not in err and not (d / "c.csv").exists()
