"""Calibration from the person and automatic synchronisation on synthetic scenes: a person walking in
front of a convergent pair, noisy 2D joints with outliers, missed joints and left/right swaps."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import random_poses

from binopose.cli import main
from binopose.geometry.rig import Camera, StereoRig, load_rig, save_rig
from binopose.geometry.rotations import rodrigues_to_matrix
from binopose.selfcal import SelfCalConfig, SelfCalRefused, calibrate_from_keypoints
from binopose.selfcal.media import synchronise
from binopose.selfcal.scale import height_from_poses, scale_from_bones, scale_from_height
from binopose.selfcal.sync import find_offset
from binopose.skeleton import flip_permutation

K = np.array([[1200.0, 0, 640], [0, 1200, 360], [0, 0, 1]])


def _rig() -> StereoRig:
    a = np.radians(35)
    R = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    C = np.array([3000.0, 0, 0])  # right camera centre in the left frame
    return StereoRig(Camera("left", (1280, 720), K), Camera("right", (1280, 720), K, R=R, t=-R @ C))


def _walk(n: int, seed: int = 0, area_mm: float = 1500.0) -> np.ndarray:
    """(n, 17, 3) poses in the left camera frame: smooth motion between random key poses, walking about."""
    keys = random_poses(n // 10 + 2, seed)
    s = np.linspace(0, len(keys) - 1.001, n)
    i, f = s.astype(int), (s % 1)[:, None, None]
    W = keys[i] * (1 - f) + keys[i + 1] * f
    rng = np.random.default_rng(seed)
    path = np.cumsum(rng.normal(0, 1, (n, 2)), 0)
    path = (path - path.mean(0)) / (np.abs(path - path.mean(0)).max(0) + 1e-9) * area_mm
    W[..., 0] += path[:, :1]
    W[..., 1] += path[:, 1:]
    # world (x right, y forward, z up) -> left camera (x right, y down, z forward), cameras 1.5 m high
    return np.stack([W[..., 0] + 1500, 1500 - W[..., 2], W[..., 1] + 5000], -1)


def _views(X: np.ndarray, rig: StereoRig, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    """(N, 2, 17, 2) pixels with noise, 3% gross outliers, 3% missed joints, 5% of frames swapped right."""
    rng = np.random.default_rng(seed)
    out = []
    for R, t in ((np.eye(3), np.zeros(3)), (rig.R_right_from_left, rig.t_right_from_left)):
        x = (X @ R.T + t) @ K.T
        out.append(x[..., :2] / x[..., 2:])
    kp = np.stack(out, 1) + rng.normal(0, noise, (len(X), 2, 17, 2))
    bad = rng.random(kp.shape[:3]) < 0.03
    kp[bad] += rng.normal(0, 60, (int(bad.sum()), 2))
    kp[rng.random(kp.shape[:3]) < 0.03] = np.nan
    swap = rng.random(len(X)) < 0.05
    kp[swap, 1] = kp[swap, 1][:, flip_permutation()]
    return kp


def _angle(R: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


@pytest.fixture(scope="module")
def scene():
    rig, X = _rig(), _walk(300)
    return rig, X, _views(X, rig)


def test_recovers_the_rig_despite_outliers_misses_and_swaps(scene):
    rig, X, kp = scene
    cfg = SelfCalConfig(person_height_mm=height_from_poses(X))  # the true height of the synthetic person
    res = calibrate_from_keypoints(kp, None, rig.left, rig.right, cfg)
    got = res.rig
    assert _angle(got.R_right_from_left.T @ rig.R_right_from_left) < 0.2
    t, tt = got.t_right_from_left, rig.t_right_from_left
    assert np.degrees(np.arccos(t @ tt / np.linalg.norm(t) / np.linalg.norm(tt))) < 0.3
    assert abs(got.baseline_mm / rig.baseline_mm - 1) < 0.01
    assert res.report["frames_lr_swapped"] >= 10 and res.report["residual_px"]["median"] < 2.0
    err = np.linalg.norm(res.X_mm - X, axis=-1)
    assert np.nanmedian(err) < 60  # mostly the <1 % scale error at 5 m


def test_scale_from_height_and_bones_agree_on_a_standard_body():
    X = random_poses(50, 3, max_angle_deg=10)
    h = height_from_poses(X)
    assert scale_from_height(X, h) == pytest.approx(1.0)
    assert scale_from_height(X / 1000, h) == pytest.approx(1000.0)
    assert 0.7 < scale_from_bones(X, h) < 1.3  # the test template is not Winter's body


def _cli(tmp_path, kp, capsys, *extra):
    np.savez(tmp_path / "kp.npz", kp2d=kp, layout="binopose17")
    save_rig(_rig(), tmp_path / "cams.toml")
    out = tmp_path / "rig.toml"
    argv = [
        "calibrate",
        "--from-poses",
        str(tmp_path / "kp.npz"),
        "--intrinsics",
        str(tmp_path / "cams.toml"),
    ]
    rc = main([*argv, "--out", str(out), "--report", str(tmp_path / "r.json"), *extra])
    return rc, out, capsys.readouterr()


def test_cli_writes_a_rig_that_loads(scene, tmp_path, capsys):
    rig, _, kp = scene
    rc, out, cap = _cli(tmp_path, kp, capsys, "--person-height-mm", "1800")
    assert rc == 0, cap.err
    got = load_rig(out)
    assert _angle(got.R_right_from_left.T @ rig.R_right_from_left) < 0.2
    assert "reprojection error" in cap.out and (tmp_path / "r.json").is_file()


def _static(X: np.ndarray, rig: StereoRig) -> np.ndarray:
    return _views(np.repeat(X[:1], 200, 0), rig, seed=3)


BAD = {
    "static person": (_static, "hardly moves"),
    "single frame": (lambda X, rig: _views(X[:1], rig), "only 1 frames"),
    "one view empty": (lambda X, rig: np.concatenate([_views(X, rig)[:, :1], np.full((len(X), 1, 17, 2), np.nan)], 1), "never detected in the right"),
    "unrelated clips": (lambda X, rig: np.stack([_views(X, rig)[:, 0], _views(_walk(len(X), 7), rig, seed=7)[:, 1]], 1), "do not"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_clips_are_refused_and_write_no_rig(case, scene, tmp_path, capsys):
    rig, X, _ = scene
    make, words = BAD[case]
    rc, out, cap = _cli(tmp_path, make(X, rig), capsys)
    assert rc == 2 and not out.exists()
    assert cap.err.count("\n") == 1 and "no rig written" in cap.err and words in cap.err, cap.err


def test_refusal_carries_the_report(scene):
    rig, X, _ = scene
    with pytest.raises(SelfCalRefused) as e:
        calibrate_from_keypoints(_static(X, rig), None, rig.left, rig.right)
    assert e.value.report["frames_both_views"] == 200 and "refused" in e.value.report


@pytest.mark.parametrize("offset", [-23, -4, 0, 9, 30])
def test_sync_recovers_offsets_with_and_without_rig(scene, offset):
    rig, X, _ = scene
    kp = _views(X, rig, noise=1.0, seed=11)
    kl, kr = (kp[offset:, 0], kp[:, 1]) if offset >= 0 else (kp[:, 0], kp[-offset:, 1])
    res = find_offset(kl, kr, 30, rig)
    assert res.offset == offset and res.confidence > 0.3 and abs(res.subframe - offset) < 0.5
    if offset in (-23, 9):  # without a rig: a fundamental matrix per candidate offset (slower)
        assert find_offset(kl, kr, 30, None).offset == offset


@pytest.mark.parametrize("deg,axis", [(1.0, 2), (2.0, 0)])
def test_sync_with_a_rig_whose_rotation_is_off(scene, deg, axis):
    """A rig whose right camera is turned by a degree or two (a calibration error): the epipolar cost
    after a refitted rotation still finds the offset; the plain cost found the wrong one (rule of
    2026-12-03 21:37 UTC, docs/SELFCAL.md)."""
    rig, X, _ = scene
    w = np.zeros(3)
    w[axis] = np.radians(deg)
    D = rodrigues_to_matrix(w)
    turned = StereoRig(
        rig.left, Camera("right", (1280, 720), K, R=D @ rig.R_right_from_left, t=D @ rig.t_right_from_left)
    )
    kp = _views(X, rig, noise=1.0, seed=11)
    plain = []
    for offset in (-23, 0, 9):
        kl, kr = (kp[offset:, 0], kp[:, 1]) if offset >= 0 else (kp[:, 0], kp[-offset:, 1])
        assert find_offset(kl, kr, 30, turned).offset == offset
        plain.append(find_offset(kl, kr, 30, turned, refit=False).offset)
    assert plain != [-23, 0, 9]


def test_synchronise_repairs_the_frames(scene):
    rig, X, _ = scene
    kp = _views(X, rig, seed=5)
    shifted = np.stack([kp[:-6, 0], kp[6:, 1]], 1)  # right frame i shows left frame i + 6: offset -6
    res, pairs, _ = synchronise(shifted, None, 20, rig)
    assert res.offset == -6 and len(pairs) == len(kp) - 12
    assert np.nanmax(np.abs(pairs[:, 1] - kp[6:-6, 1])) == 0


def test_focal_refinement_refused_when_not_identifiable(scene):
    """Optical axes in one plane (this rig turns about y only): two views cannot fix the focal lengths."""
    rig, X, kp = scene
    with pytest.raises(SelfCalRefused, match="focal lengths cannot be found"):
        calibrate_from_keypoints(kp, None, rig.left, rig.right, SelfCalConfig(refine_focal=True))


def _coded_video(path, n: int, size: tuple[int, int], red: int = 128) -> None:
    """Frame i is one colour: blue = i % 12, green = i // 12 (read back by :func:`_fake_detectors`);
    ``red`` tells two videos apart (binopose refuses the same media as both cameras)."""
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), (10 + 20 * (i % 12), 10 + 20 * (i // 12), red), np.uint8))
    w.release()


def _write_pair(tmp_path, n: int, size: tuple[int, int]) -> None:
    _coded_video(tmp_path / "left.mp4", n, size, red=128)
    _coded_video(tmp_path / "right.mp4", n, size, red=100)


def _fake_detectors(monkeypatch, per_view: list) -> None:
    """Detectors that read the frame index off a coded frame and return that view's known keypoints
    (the first detector made serves the left view, the second the right)."""
    import binopose.video.detect

    views = iter(range(100))

    class Fake:
        name = "fake"

        def __init__(self) -> None:
            self.uv = per_view[next(views) % 2]

        def detect(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            b, g = (img[..., :2].reshape(-1, 2).mean(0) - 10) / 20
            return self.uv[int(round(b)) + 12 * int(round(g))].copy(), np.ones(17)

    monkeypatch.setattr(binopose.video.detect, "make_detector", lambda *a, **k: Fake())


def test_run_finds_the_offset_when_none_is_given(tmp_path, monkeypatch, capsys):
    """`binopose run` without --offset: detect, synchronise with the rig, print it, and use it."""

    from binopose.viz import reproject

    n, size, shift = 12, (64, 48), 2
    K0 = np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]])
    a = np.radians(20)
    R = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    rig = StereoRig(Camera("L", size, K0), Camera("R", size, K0, R=R, t=-R @ np.array([1500.0, 0, 0])))
    X = _walk(n + shift, seed=4) - np.array([750.0, 0, 0])  # centred between the cameras
    uv = reproject(X, rig)  # (n + 2, 2, 17, 2): time 0..n+1
    per_view = [uv[:n, 0], uv[shift:, 1]]  # left frame i = time i, right frame j = time j + 2: offset -2
    _write_pair(tmp_path, n, size)
    _fake_detectors(monkeypatch, per_view)
    save_rig(rig, tmp_path / "rig.toml", units="mm")
    d = str(tmp_path)
    argv = ["run", "--left", f"{d}/left.mp4", "--right", f"{d}/right.mp4", "--rig", f"{d}/rig.toml"]
    rc = main([*argv, "--out", f"{d}/o", "--no-refine", "--no-viz", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "synchronisation: offset -2 frames" in out, out
    assert '"offset": -2' in (tmp_path / "o" / "summary.json").read_text()


def test_calibrate_from_two_videos(tmp_path, monkeypatch, capsys):
    """`calibrate --from-poses --left A --right B`: detect, synchronise (no rig: essential matrix), calibrate."""

    rig, n = _rig(), 90
    uv = _views(_walk(n + 3, seed=2), rig, noise=0.5, seed=2)
    per_view = [uv[:n, 0], uv[3:, 1]]  # right frame j = time j + 3: offset -3
    _write_pair(tmp_path, n, rig.left.size)
    _fake_detectors(monkeypatch, per_view)
    save_rig(rig, tmp_path / "cams.toml")
    d = str(tmp_path)
    argv = ["calibrate", "--from-poses", "--left", f"{d}/left.mp4", "--right", f"{d}/right.mp4"]
    rc = main([*argv, "--intrinsics", f"{d}/cams.toml", "--out", f"{d}/rig.toml"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "synchronisation: offset -3 frames" in out.out, out.out
    got = load_rig(tmp_path / "rig.toml")
    assert _angle(got.R_right_from_left.T @ rig.R_right_from_left) < 0.5
