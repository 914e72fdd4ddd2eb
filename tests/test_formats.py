"""Other tools' files: TRC for OpenSim with missing joints; 2D keypoint layouts (COCO-17, HALPE-26,
COCO-WholeBody, OpenPose BODY_25, MediaPipe-33) and OpenPose/Pose2Sim JSON folders; badly nested files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from helpers import TEMPLATE
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from binopose.cli import main
from binopose.errors import BinoposeError
from binopose.formats.layouts import LAYOUTS, mapping, to_canonical
from binopose.formats.openpose import read_keypoints
from binopose.geometry import project
from binopose.geometry.rig import load_rig
from binopose.io import Poses3D, load_keypoints_2d, load_poses, save_poses
from binopose.skeleton import JOINT_NAMES
from binopose.video.detect import blazepose_mapping


def test_trc_rows_keep_the_header_column_count(tmp_path):
    """OpenSim 4.6 splits TRC rows on whitespace: a missing last marker (empty cells) made a short row."""
    X = np.random.default_rng(0).normal(0, 300, (4, 17, 3)) + [0, 0, 3000]
    X[1, 16] = np.nan  # the last marker
    X[2] = np.nan  # an empty frame
    save_poses(tmp_path / "p.trc", Poses3D(X, np.full((4, 17), 10.0), fps=30.0))
    lines = (tmp_path / "p.trc").read_text().splitlines()
    n_cols = len(lines[4].split()) + 2  # X1..Z17 under Frame# and Time
    assert n_cols == 2 + 3 * 17
    rows = [r.split() for r in lines[6:]]
    assert len(rows) == 4 and all(len(r) == n_cols for r in rows)
    assert rows[1][-3:] == ["NaN"] * 3 and rows[2][2:] == ["NaN"] * 51


# --- keypoint layouts ------------------------------------------------------------------------------------
#: a few indices from each format's own documentation, independent of the layout table
KNOWN_INDICES = {
    "coco17": {"nose": 0, "left_ear": 3, "left_shoulder": 5, "right_wrist": 10, "right_hip": 12, "right_ankle": 16},
    "halpe26": {"left_hip": 11, "head": 17, "neck": 18, "hip": 19, "right_heel": 25},
    "coco133": {"right_ankle": 16, "left_big_toe": 17, "right_heel": 22},
    "body25": {"neck": 1, "right_wrist": 4, "mid_hip": 8, "right_hip": 9, "left_ankle": 14, "left_ear": 18},
    "mediapipe33": {"nose": 0, "left_ear": 7, "right_ear": 8, "left_shoulder": 11, "left_hip": 23, "right_ankle": 28},
}  # fmt: skip


@pytest.mark.parametrize("layout", sorted(KNOWN_INDICES))
def test_layout_tables_match_the_formats(layout):
    for name, i in KNOWN_INDICES[layout].items():
        assert LAYOUTS[layout][i] == name
    assert (
        len(LAYOUTS[layout])
        == {"coco17": 17, "halpe26": 26, "coco133": 133, "body25": 25, "mediapipe33": 33}[layout]
    )


def test_mediapipe_layout_agrees_with_the_detector():
    np.testing.assert_array_equal(mapping("mediapipe33"), blazepose_mapping("ears"))


def _named_points(layout: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {n: rng.uniform(0, 1000, 2) for n in LAYOUTS[layout]}


def _expected(p: dict[str, np.ndarray]) -> np.ndarray:
    """The canonical 17 joints by the documented rule, written out independently of the code."""
    mid = lambda a, b: (p[a] + p[b]) / 2  # noqa: E731
    pelvis, thorax = mid("left_hip", "right_hip"), mid("left_shoulder", "right_shoulder")
    derived = {
        "pelvis": pelvis,
        "spine": (pelvis + thorax) / 2,
        "thorax": thorax,
        "head": mid("left_ear", "right_ear"),
        "neck_nose": p["nose"],
    }
    return np.stack([derived[j] if j in derived else p[j] for j in JOINT_NAMES])


@pytest.mark.parametrize("layout", sorted(KNOWN_INDICES))
def test_conversion_to_the_canonical_joints(layout):
    p = _named_points(layout, np.random.default_rng(0))
    kp = np.stack([p[n] for n in LAYOUTS[layout]])
    conf = np.linspace(0.5, 1.0, len(kp))
    out, c = to_canonical(kp, conf, layout)
    np.testing.assert_allclose(out, _expected(p), atol=1e-9)
    i = LAYOUTS[layout].index
    assert c[6] == min(conf[i("left_hip")], conf[i("right_hip")])
    conf[i("left_ear")] = 0.0  # a keypoint not found: the head is missing, nothing else
    out, c = to_canonical(kp, conf, layout)
    assert np.isnan(out[9]).all() and c[9] == 0 and np.isfinite(np.delete(out, 9, 0)).all()


def test_undeclared_17_joints_are_refused_and_coco_is_converted(tmp_path):
    """COCO-17 keypoints in a 17-joint array were read as binopose's order (721 mm off)."""
    p = _named_points("coco17", np.random.default_rng(1))
    coco = np.stack([p[n] for n in LAYOUTS["coco17"]])
    kp = np.broadcast_to(coco, (3, 2, 17, 2)).copy()
    np.savez(tmp_path / "coco.npz", kp2d=kp)
    with pytest.raises(BinoposeError, match="no declared layout.*--layout"):
        load_keypoints_2d(tmp_path / "coco.npz")
    k = load_keypoints_2d(tmp_path / "coco.npz", layout="coco17")
    np.testing.assert_allclose(k.kp2d[2, 1], _expected(p), atol=1e-9)
    np.savez(tmp_path / "declared.npz", kp2d=kp, layout="coco17")
    np.testing.assert_allclose(load_keypoints_2d(tmp_path / "declared.npz").kp2d, k.kp2d)
    with pytest.raises(BinoposeError, match="declares layout 'coco17' but --layout says 'binopose17'"):
        load_keypoints_2d(tmp_path / "declared.npz", layout="binopose17")
    np.savez(tmp_path / "odd.npz", kp2d=kp, layout="coco18")
    with pytest.raises(BinoposeError, match="unknown keypoint layout 'coco18'"):
        load_keypoints_2d(tmp_path / "odd.npz")
    with pytest.raises(BinoposeError, match="has 25 keypoints, the file has 17"):
        load_keypoints_2d(tmp_path / "coco.npz", layout="body25")


@pytest.mark.parametrize(
    "content",
    [
        {"kp2d": [1.0, 2.0, 3.0]},  # 1-D
        {"kp2d": [[[[1.0, 2.0]] * 17, [[1.0, 2.0]] * 16]]},  # ragged
        {"kp2d": [[[[1.0, 2.0, 3.0]] * 17] * 2]},  # xyz, not xy
        {"kp2d": [[[1.0, 2.0]] * 17]},  # no view axis
        {"kp2d": "abc"},
        {"kp2d": np.zeros((1, 2, 17, 2)).tolist(), "layout": 17},
    ],
)
def test_badly_nested_keypoint_files_get_one_line(tmp_path, capsys, content):
    (tmp_path / "kp.json").write_text(json.dumps(content))
    (tmp_path / "rig.toml").write_text(_RIG)
    code = main(["refine", str(tmp_path / "kp.json"), "--rig", str(tmp_path / "rig.toml"), "--out", "x.npz"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "kp.json" in err, err


_RIG = """[a]
matrix = [[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]
[b]
matrix = [[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]
translation = [-0.4, 0.0, 0.0]
"""


def _write_openpose(folder, frames: dict[int, list[np.ndarray]], layout: str, name: str) -> None:
    """Per-frame OpenPose JSON files; each person is (K, 3) x, y, c (c = 0 with x = y = 0: not found)."""
    folder.mkdir()
    for f, people in frames.items():
        doc = {
            "version": 1.3,
            "people": [{"person_id": [-1], "pose_keypoints_2d": a.ravel().tolist()} for a in people],
        }
        (folder / f"{name}_{f:012d}_keypoints.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("layout", ["body25", "halpe26", "coco17"])
def test_openpose_json_folders_through_refine(tmp_path, capsys, layout):
    """OpenPose (BODY_25) and Pose2Sim (HALPE_26, COCO_17) folders: frames matched by number, the most
    confident person, (0, 0, 0) keypoints missing."""
    rng = np.random.default_rng(2)
    pts3d = {n: TEMPLATE[JOINT_NAMES.index(n)] if n in JOINT_NAMES else rng.uniform(-300, 300, 3)
             for n in LAYOUTS[layout]}  # fmt: skip
    pts3d["left_ear"], pts3d["right_ear"] = TEMPLATE[9] + [70, 0, 0], TEMPLATE[9] - [70, 0, 0]
    cam = lambda x: x[..., [0, 2, 1]] * [1, -1, 1] + [0, 0, 3000]  # noqa: E731  (standing, 3 m away)
    world = cam(np.stack([pts3d[n] for n in LAYOUTS[layout]]))
    (tmp_path / "rig.toml").write_text(_RIG)
    rig = load_rig(tmp_path / "rig.toml")
    uv = project(torch.as_tensor(world), rig.projection_matrices(torch.float64)).numpy()  # (2, K, 2)
    person = [np.concatenate([uv[v], np.ones((len(world), 1))], 1) for v in range(2)]
    person[1][LAYOUTS[layout].index("left_wrist")] = 0.0  # not found in the right view
    ghost = [np.concatenate([u + 50, np.full((len(world), 1), 0.1)], 1) for u in uv]
    _write_openpose(tmp_path / "L", {0: [person[0]], 1: [ghost[0], person[0]], 2: []}, layout, "camL")
    _write_openpose(
        tmp_path / "R", {0: [person[1]], 1: [person[1], ghost[1]], 3: [person[1]]}, layout, "camR"
    )
    argv = ["refine", str(tmp_path / "L"), str(tmp_path / "R"), "--rig", str(tmp_path / "rig.toml")]
    argv += ["--method", "triangulate", "--out", str(tmp_path / "p.npz")]
    assert main(argv) == 2 and "no declared layout" in capsys.readouterr().err
    assert main([*argv, "--layout", layout]) == 0
    assert "1 of 3 frames have several people" in capsys.readouterr().err
    poses = load_poses(tmp_path / "p.npz")
    np.testing.assert_array_equal(poses.frame_index, [0, 1, 2, 3])
    expected = _expected({n: cam(p) for n, p in pts3d.items()})
    for i in (0, 1):
        np.testing.assert_allclose(np.delete(poses.poses[i], 15, 0), np.delete(expected, 15, 0), atol=5.0)
    assert np.isnan(poses.poses[2:]).all()  # frames seen by one camera only


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=6) | st.dictionaries(st.sampled_from(["people", "pose_keypoints_2d", "x"]), kids, max_size=3),
    max_leaves=30,
)  # fmt: skip
_NUMBER = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6)
_FLAT = st.lists(_NUMBER, min_size=51, max_size=51) | st.lists(
    _NUMBER, max_size=80
)  # 51: COCO-17 x (x, y, c)
_PERSON = st.fixed_dictionaries({"pose_keypoints_2d": _FLAT}) | _JSON
_FRAME = st.fixed_dictionaries({"people": st.lists(_PERSON, max_size=3)}) | _JSON


@settings(max_examples=int(os.environ.get("BINOPOSE_FORMATS_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(left=st.lists(_FRAME, min_size=1, max_size=3), right=st.lists(_FRAME, min_size=1, max_size=3))
def test_openpose_folders_of_arbitrary_json_read_or_refuse(tmp_path_factory, left, right):
    d = tmp_path_factory.mktemp("op")
    for side, docs in (("L", left), ("R", right)):
        (d / side).mkdir()
        for i, doc in enumerate(docs):
            (d / side / f"f_{i:04d}.json").write_text(json.dumps(doc))
    for layout in ("coco17", None):
        try:
            read_keypoints([d / "L", d / "R"], layout)
            event("read")
        except BinoposeError:
            event("refused")
