"""Exports say what they are (frame, cameras, fps), hold no absolute input paths, and the TRC can be
put in a gravity-aligned frame estimated from the poses (a tilted camera's up axis recovered)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from helpers import TEMPLATE
from test_pipeline import FakeDetector, known_poses, make_rig, write_video

from binopose.errors import BinoposeWarning
from binopose.geometry.rig import rodrigues_to_matrix
from binopose.geometry.transforms import apply_frame, export_frame
from binopose.io import Poses3D, load_poses, save_poses
from binopose.skeleton import JOINT_NAMES
from binopose.video.pipeline import LiftConfig, run_pipeline
from binopose.viz import reproject

UP_WORLD = np.array(
    [0.0, 0.0, 1.0]
)  # helpers.TEMPLATE: x left, y forward, z up; ankles 880 mm below the root


def _walk(n: int, rng: np.random.Generator, still: bool = False) -> np.ndarray:
    """(n, 17, 3) world mm: a person turning and walking over a 3 x 3 m floor (z = 0), ankles ~80 mm up."""
    out = []
    for _ in range(n):
        yaw = rng.uniform(0, 2 * math.pi)
        Rz = rodrigues_to_matrix(np.array([0.0, 0.0, yaw]))
        pos = np.zeros(2) if still else rng.uniform(-1500, 1500, 2)
        out.append(TEMPLATE @ Rz.T + [pos[0], pos[1], 960.0] + rng.normal(0, 10, (17, 3)))
    return np.stack(out)


def _tilted_camera(pitch_deg: float, roll_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """R, C of a camera 5 m from the floor's centre, 1.5 m up, pitched down and rolled."""
    look = rodrigues_to_matrix(np.array([-math.pi / 2, 0.0, 0.0]))  # camera z = world y, camera y = -world z
    tilt = rodrigues_to_matrix(np.radians([pitch_deg, 0.0, 0.0])) @ rodrigues_to_matrix(
        np.radians([0.0, 0.0, roll_deg])
    )
    return tilt @ look, np.array([0.0, -5000.0, 1500.0])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_gravity_frame_recovers_the_up_axis_of_a_tilted_camera(tmp_path):
    R, C = _tilted_camera(pitch_deg=-25.0, roll_deg=8.0)
    poses = (_walk(300, np.random.default_rng(0)) - C) @ R.T  # the left camera's frame
    true_up = R @ UP_WORLD
    R_out, t_out = export_frame(poses, "gravity")
    assert _angle_deg(R_out[1], true_up) < 2.0
    assert _angle_deg(np.diag([1.0, -1.0, -1.0])[1], true_up) > 20.0  # "upright" is 26 degrees off here
    out = apply_frame(poses, R_out, t_out)
    ankles = out[:, [JOINT_NAMES.index("right_ankle"), JOINT_NAMES.index("left_ankle")], 1]
    assert abs(ankles.mean()) < 5.0 and out[:, JOINT_NAMES.index("head"), 1].mean() > 1500.0
    save_poses(tmp_path / "g.trc", Poses3D(poses, np.zeros((300, 17))), trc_frame="gravity")
    row = (tmp_path / "g.trc").read_text().splitlines()[6].split("\t")
    np.testing.assert_allclose([float(v) for v in row[2:5]], out[0, 0] / 1000, atol=1e-6)


def test_gravity_frame_of_a_person_standing_still_uses_the_body():
    R, C = _tilted_camera(pitch_deg=-15.0, roll_deg=-5.0)
    poses = (_walk(50, np.random.default_rng(1), still=True) - C) @ R.T
    with pytest.warns(BinoposeWarning, match="ankles-to-pelvis"):
        R_out, _ = export_frame(poses, "gravity")
    assert _angle_deg(R_out[1], R @ UP_WORLD) < 3.0


def test_npz_and_csv_say_their_frame_cameras_and_fps(tmp_path):
    p = Poses3D(np.zeros((2, 17, 3)), np.zeros((2, 17)), fps=25.0, meta={"cameras": ["cam01", "cam02"]})
    save_poses(tmp_path / "p.npz", p)
    save_poses(tmp_path / "p.csv", p)
    with np.load(tmp_path / "p.npz") as d:
        assert "left camera frame" in str(d["coordinates"]) and list(d["cameras"]) == ["cam01", "cam02"]
    head = (tmp_path / "p.csv").read_text().splitlines()[:4]
    assert "# coordinates: left camera frame" in head[1] and head[2] == "# cameras: cam01, cam02"
    assert head[3] == "# fps: 25"
    assert load_poses(tmp_path / "p.csv").fps == pytest.approx(25.0)
    pd = pytest.importorskip("pandas")
    assert pd.read_csv(tmp_path / "p.csv", comment="#").shape == (2, 2 + 4 * 17)


def test_run_outputs_hold_no_absolute_input_paths(tmp_path):
    rig = make_rig()
    uv = reproject(known_poses(), rig)
    write_video(tmp_path / "left.mp4")
    write_video(tmp_path / "right.mp4", mark=255)
    views = itertools.count()
    factory = lambda: FakeDetector(uv[:, next(views) % 2], [])  # noqa: E731
    cfg = LiftConfig(refine=False, model=str(tmp_path / "some" / "model.safetensors"))
    s = run_pipeline(
        tmp_path / "left.mp4", tmp_path / "right.mp4", rig, tmp_path / "o", cfg, factory, viz=False
    )
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["left"] == "../left.mp4" and summary["right"] == "../right.mp4", summary
    for name in ("poses_3d.json", "poses_3d.csv", "summary.json"):
        assert str(tmp_path) not in (tmp_path / "o" / name).read_text(), name
    assert load_poses(s["files"]["poses_npz"]).meta["cameras"] == ["L", "R"]
