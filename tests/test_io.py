"""Pose and keypoint files: round trips (NaN kept), the TRC header, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from binopose.errors import BinoposeError
from binopose.io import Keypoints2D, Poses3D, load_keypoints_2d, load_poses, save_keypoints_2d, save_poses
from binopose.skeleton import JOINT_NAMES


def sample(n: int = 5) -> Poses3D:
    rng = np.random.default_rng(1)
    X = rng.normal(0, 300, (n, 17, 3)) + [0, 0, 3000]
    unc = rng.uniform(5, 40, (n, 17))
    X[2, 4] = np.nan
    unc[2, 4] = np.nan
    return Poses3D(X, unc, np.arange(n) + 10, 60.0, {"source": "test"})


@pytest.mark.parametrize("ext", ["json", "npz", "csv"])
def test_pose_round_trip(tmp_path, ext):
    p = sample()
    save_poses(tmp_path / f"p.{ext}", p)
    q = load_poses(tmp_path / f"p.{ext}")
    np.testing.assert_allclose(q.poses, p.poses, atol=1e-3, equal_nan=True)
    np.testing.assert_allclose(q.uncertainty, p.uncertainty, atol=1e-3, equal_nan=True)
    np.testing.assert_array_equal(q.frame_index, p.frame_index)
    assert q.fps == pytest.approx(60.0)
    if ext != "csv":
        assert q.meta == {"source": "test"}


def test_json_is_strict_json(tmp_path):
    save_poses(tmp_path / "p.json", sample())
    doc = json.loads((tmp_path / "p.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert (
        doc["units"] == "mm"
        and doc["joint_names"] == list(JOINT_NAMES)
        and doc["frames"][2]["joints_mm"][4] == [None] * 3
    )


def test_trc_format(tmp_path):
    p = sample(3)
    save_poses(tmp_path / "p.trc", p)
    lines = (tmp_path / "p.trc").read_text().split("\n")
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    assert lines[1].split("\t") == [
        "DataRate",
        "CameraRate",
        "NumFrames",
        "NumMarkers",
        "Units",
        "OrigDataRate",
        "OrigDataStartFrame",
        "OrigNumFrames",
    ]
    assert lines[2].split("\t") == ["60.00", "60.00", "3", "17", "m", "60.00", "1", "3"]
    names = lines[3].split("\t")
    assert names[:3] == ["Frame#", "Time", JOINT_NAMES[0]] and [n for n in names[2:] if n] == list(
        JOINT_NAMES
    )
    assert names.index(JOINT_NAMES[1]) == 5  # each marker spans X, Y, Z columns
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"] and lines[4].split("\t")[-1] == "Z17"
    assert lines[5] == ""
    row = lines[6].split("\t")
    assert row[0] == "1" and float(row[1]) == 0.0 and len(row) == 2 + 51
    x, y, z = (float(v) for v in row[2:5])  # metres, y up, z towards the camera
    np.testing.assert_allclose([x, y, z], p.poses[0, 0] * [0.001, -0.001, -0.001], atol=1e-6)
    assert lines[8].split("\t")[2 + 12 : 2 + 15] == ["NaN"] * 3  # the missing joint: NaN, not empty cells
    save_poses(tmp_path / "mm.trc", p, trc_units="mm")
    assert (tmp_path / "mm.trc").read_text().split("\n")[2].split("\t")[4] == "mm"


@pytest.mark.parametrize("ext", ["npz", "json"])
def test_keypoints_round_trip(tmp_path, ext):
    kp = np.random.default_rng(0).uniform(0, 500, (4, 2, 17, 2))
    kp[1, 0, 3] = np.nan
    conf = np.random.default_rng(1).uniform(0, 1, (4, 2, 17))
    save_keypoints_2d(tmp_path / f"k.{ext}", Keypoints2D(kp, conf, np.zeros((4, 2), int), {"a": 1}))
    k = load_keypoints_2d(tmp_path / f"k.{ext}")
    np.testing.assert_allclose(k.kp2d, kp, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(k.conf, conf, rtol=1e-6)
    assert k.meta == {"a": 1}


def test_keypoints_without_conf(tmp_path):
    (tmp_path / "k.json").write_text(json.dumps({"kp2d": np.zeros((2, 2, 17, 2)).tolist()}))
    with pytest.raises(BinoposeError, match="no declared layout"):  # 17 joints: COCO's or binopose's?
        load_keypoints_2d(tmp_path / "k.json")
    k = load_keypoints_2d(tmp_path / "k.json", layout="binopose17")
    assert k.kp2d.shape == (2, 2, 17, 2) and k.conf is None


def test_bad_files(tmp_path):
    np.savez(tmp_path / "bad.npz", kp2d=np.zeros((3, 17, 2)))
    np.savez(tmp_path / "nokp.npz", x=np.zeros(3))
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "badconf.json").write_text(
        json.dumps({"kp2d": np.zeros((1, 2, 17, 2)).tolist(), "conf": [[1]]})
    )
    for f in ("bad.npz", "nokp.npz", "bad.json", "badconf.json", "missing.npz", "x.txt"):
        with pytest.raises(BinoposeError):
            load_keypoints_2d(tmp_path / f)
    with pytest.raises(BinoposeError):
        save_poses(tmp_path / "p.xyz", sample())
    with pytest.raises(BinoposeError):
        load_poses(tmp_path / "bad.json")
    with pytest.raises(BinoposeError):
        Poses3D(np.zeros((2, 16, 3)), np.zeros((2, 16)))
