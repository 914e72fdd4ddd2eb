"""Rig files that would give silently wrong results: millimetres read as metres, a 4-camera file whose
first two cameras are used without a word, a person a thousand times too big."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from helpers import TEMPLATE

from binopose.cli import main
from binopose.errors import BinoposeError, BinoposeWarning
from binopose.geometry import project
from binopose.geometry.rig import Camera, StereoRig, load_rig, rig_to_toml
from binopose.io import Keypoints2D, load_poses, save_keypoints_2d
from binopose.stream.keypoints import keypoint_chunks
from binopose.stream.lift import lift_chunks
from binopose.stream.scale import RunningBoneMedian
from binopose.video.pipeline import LiftConfig, bone_lengths, check_person_scale, lift

K = np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]])


def _rig_text(baseline: float, n_cams: int = 2, units: str | None = None) -> str:
    """An aniposelib-style rig: translations in the file's own numbers; no [metadata] unless ``units``."""
    cams = [Camera(f"cam{i}", (1280, 720), K, t=[-baseline * i, 0.0, 0.0]) for i in range(n_cams)]
    text = rig_to_toml(cams, units="mm")  # the numbers as given (mm = 1:1)
    text = text[: text.index("[metadata]")]
    return text + (f'[metadata]\nunits = "{units}"\n' if units else "")


def _load(tmp_path, text: str, **kw) -> tuple[StereoRig, list[str]]:
    (tmp_path / "rig.toml").write_text(text)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rig = load_rig(tmp_path / "rig.toml", **kw)
    return rig, [str(x.message) for x in w if issubclass(x.category, BinoposeWarning)]


def test_millimetre_rig_without_units_is_read_as_millimetres_with_a_note(tmp_path):
    """A 120 mm baseline in an undeclared file became 120 m."""
    rig, notes = _load(tmp_path, _rig_text(120.0))
    assert rig.baseline_mm == pytest.approx(120.0)
    assert len(notes) == 1 and "read as millimetres" in notes[0] and "120 m" in notes[0]


@pytest.mark.parametrize("baseline, expected_mm", [(0.12, 120.0), (3.5, 3500.0)])
def test_metre_rig_without_units_stays_metres_silently(tmp_path, baseline, expected_mm):
    rig, notes = _load(tmp_path, _rig_text(baseline))
    assert rig.baseline_mm == pytest.approx(expected_mm) and notes == []


def test_declared_or_requested_units_are_obeyed_with_a_warning_if_implausible(tmp_path):
    rig, notes = _load(tmp_path, _rig_text(120.0, units="m"))
    assert rig.baseline_mm == pytest.approx(120_000.0) and "outside" in notes[0] and "metadata" in notes[0]
    rig, notes = _load(tmp_path, _rig_text(120.0), units="m")
    assert rig.baseline_mm == pytest.approx(120_000.0) and "--rig-units" in notes[0]
    rig, notes = _load(tmp_path, _rig_text(120.0, units="m"), units="mm")
    assert rig.baseline_mm == pytest.approx(120.0) and notes == []


def test_implausible_in_every_unit_is_refused(tmp_path):
    with pytest.raises(BinoposeError, match="--rig-units"):
        _load(tmp_path, _rig_text(200_000.0))


def test_four_camera_rig_says_which_pair(tmp_path):
    rig, notes = _load(tmp_path, _rig_text(0.5, n_cams=4))
    assert (rig.left.name, rig.right.name) == ("cam0", "cam1")
    assert len(notes) == 1 and "4 cameras" in notes[0] and "'cam0' (left)" in notes[0]
    rig, notes = _load(tmp_path, _rig_text(0.5, n_cams=4), left="cam2", right="cam3")
    assert notes == [] and rig.baseline_mm == pytest.approx(500.0)


def test_person_scale_check():
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 150 < check_person_scale(X) < 400
    with pytest.warns(BinoposeWarning, match="units"):
        check_person_scale(X * 1000)


def _keypoints(tmp_path, baseline_mm: float) -> None:
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None]  # (1, 17, 3) in the left camera frame
    rig = StereoRig(Camera("a", (1280, 720), K), Camera("b", (1280, 720), K, t=[-baseline_mm, 0, 0]))
    uv = project(X, rig.projection_matrices(torch.float64)).numpy()
    save_keypoints_2d(tmp_path / "kp.npz", Keypoints2D(uv, np.ones(uv.shape[:-1])))


def test_cli_refine_on_a_millimetre_rig(tmp_path, capsys):
    _keypoints(tmp_path, 120.0)
    (tmp_path / "rig.toml").write_text(_rig_text(120.0))
    argv = [
        "refine",
        str(tmp_path / "kp.npz"),
        "--rig",
        str(tmp_path / "rig.toml"),
        "--method",
        "triangulate",
    ]
    assert main([*argv, "--out", str(tmp_path / "p.npz")]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warning: " in err and "millimetres" in err
    assert abs(load_poses(tmp_path / "p.npz").poses[0, 6, 2] - 3000) < 1.0  # 3 m away, not 3 km
    assert main([*argv, "--rig-units", "m", "--out", str(tmp_path / "q.npz")]) == 0
    err = capsys.readouterr().err
    assert "median bone" in err and "--rig-units" in err  # forced metres: a giant, and it is said


def _noise_video(path, n: int = 3) -> None:
    cv2 = pytest.importorskip("cv2")
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(n):
        w.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    w.release()


def test_the_same_video_as_both_cameras_is_refused(tmp_path, capsys):
    _noise_video(tmp_path / "a.mp4")
    (tmp_path / "b.mp4").write_bytes((tmp_path / "a.mp4").read_bytes())  # a copy: identical frames
    (tmp_path / "link.mp4").symlink_to(tmp_path / "a.mp4")
    cams = [Camera(f"c{i}", (64, 48), K / 20 + np.diag([0, 0, 0.95]), t=[-300.0 * i, 0, 0]) for i in range(2)]
    (tmp_path / "rig.toml").write_text(rig_to_toml(cams))
    for right, what in (
        ("a.mp4", "same file"),
        ("link.mp4", "same file"),
        ("b.mp4", "identical first frames"),
    ):
        argv = ["run", "--left", str(tmp_path / "a.mp4"), "--right", str(tmp_path / right)]
        code = main([*argv, "--rig", str(tmp_path / "rig.toml"), "--out", str(tmp_path / "o"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and what in err, err


def _lift_in_chunks(tmp_path, scales: list[float]) -> list[str]:
    """Frames of a person scaled by ``scales`` (a giant projects to the same pixels from further away),
    lifted three frames a chunk; the warnings said."""
    size = torch.tensor(scales, dtype=torch.float64)[:, None, None]
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None] * size
    rig = StereoRig(Camera("a", (1280, 720), K), Camera("b", (1280, 720), K, t=[-120.0, 0, 0]))
    uv = project(X, rig.projection_matrices(torch.float64)).numpy()
    save_keypoints_2d(tmp_path / "kp.npz", Keypoints2D(uv, np.ones(uv.shape[:-1])))
    _, chunks = keypoint_chunks(tmp_path / "kp.npz", chunk=3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        parts = list(lift_chunks(chunks, rig, LiftConfig(refine=False, lr_fix=False), None, True, None, {}))
    assert sum(len(p.poses) for p in parts) == len(scales)
    return [str(x.message) for x in w if issubclass(x.category, BinoposeWarning)]


def test_chunked_person_scale_judges_the_whole_recording(tmp_path):
    """The chunked path looked at the first chunk only: a giant after it went unsaid, and a first chunk
    of giants in a recording of people warned."""
    said = _lift_in_chunks(tmp_path, [1.0] * 3 + [10.0] * 7)
    assert len(said) == 1 and "median bone" in said[0] and "--rig-units" in said[0]
    assert _lift_in_chunks(tmp_path, [10.0] * 3 + [1.0] * 7) == []
    assert _lift_in_chunks(tmp_path, [1.0] * 10) == []


def test_running_bone_median_matches_the_median():
    rng = np.random.default_rng(0)
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None] * torch.as_tensor(rng.uniform(0.5, 3, (50, 1, 1)))
    run = RunningBoneMedian()
    assert run.median() is None and run.check() is None
    for part in X.split(7):
        run.add(part)
    exact = float(bone_lengths(X).median())
    assert run.median() == pytest.approx(exact, rel=0.012)


def _views(
    tmp_path, frames: int, offset_px: float, noise_px: float, chunked: bool
) -> tuple[list[str], object]:
    """A walking-in-place person before a 120 mm pair; the right view's keypoints moved by a constant
    ``offset_px`` across the epipolar lines (vertical: a calibration error) plus noise; lifted whole or
    a few frames a chunk. The warnings said, and the disagreement recorded."""
    rng = np.random.default_rng(1)
    X = torch.as_tensor(TEMPLATE + [0, 0, 3000])[None] + torch.as_tensor(rng.normal(0, 30, (frames, 17, 3)))
    rig = StereoRig(Camera("a", (1280, 720), K), Camera("b", (1280, 720), K, t=[-120.0, 0, 0]))
    uv = project(X, rig.projection_matrices(torch.float64)).numpy() + rng.normal(
        0, noise_px, (frames, 2, 17, 2)
    )
    uv[:, 1, :, 1] += offset_px
    kp = Keypoints2D(uv, np.ones(uv.shape[:-1]))
    cfg = LiftConfig(refine=False, lr_fix=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if chunked:
            save_keypoints_2d(tmp_path / "kp.npz", kp)
            counts: dict = {}
            list(
                lift_chunks(
                    keypoint_chunks(tmp_path / "kp.npz", chunk=7)[1], rig, cfg, None, True, None, counts
                )
            )
            px = counts["view_disagreement_px"]
        else:
            px = lift(kp, rig, cfg, None, ideal=True)[1]["view_disagreement_px"]
    return [str(x.message) for x in w if issubclass(x.category, BinoposeWarning)], px


@pytest.mark.parametrize("chunked", [False, True])
def test_a_constant_disagreement_of_the_views_is_said(tmp_path, chunked):
    """A 10 px calibration error in every frame is said once, with its size; 2 px of noise alone is not,
    nor is the error in a clip too short to judge."""
    said, px = _views(tmp_path, 60, 10.0, 1.0, chunked)
    assert len(said) == 1 and "calibration" in said[0] and max(px) > 4.0, (said, px)
    said, px = _views(tmp_path, 60, 0.0, 2.0, chunked)
    assert said == [] and max(px) < 1.0, px
    assert _views(tmp_path, 10, 10.0, 1.0, chunked)[0] == []
