"""Stereo calibration on boards rendered through known cameras, and on bad inputs."""

from __future__ import annotations

import functools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from binopose.calibrate.board import Board, detect_board  # noqa: E402
from binopose.calibrate.calibration import CalibrationConfig, calibrate_stereo  # noqa: E402
from binopose.calibrate.rectify import rectification_maps  # noqa: E402
from binopose.cli import main  # noqa: E402
from binopose.errors import BinoposeError  # noqa: E402
from binopose.geometry.rig import load_rig, matrix_to_rodrigues  # noqa: E402

SIZE = (640, 480)
SS = 2  # supersampling: render at 2x, then area-average down (anti-aliased edges)
K_LEFT = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
K_RIGHT = np.array([[520.0, 0, 330], [0, 520, 236], [0, 0, 1]])
DIST_LEFT = np.array([-0.08, 0.02, 0, 0, 0])
DIST_RIGHT = np.array([0.05, -0.01, 0.001, -0.0005, 0])
CENTER_RIGHT = np.array([120.0, 0.0, 0.0])  # mm, in the left camera frame: the baseline


def rot(axis: str, deg: float) -> np.ndarray:
    r = np.zeros(3)
    r["xyz".index(axis)] = math.radians(deg)
    return cv2.Rodrigues(r)[0]


R_RIGHT = rot("y", -8.0).T  # the right camera turns 8 degrees towards the left one
T_RIGHT = -R_RIGHT @ CENTER_RIGHT

# board poses: (tilt about x, tilt about y, roll, board centre in the left camera frame, mm)
POSES = [
    (20, 25, 0, (60, 0, 560)),
    (-20, 25, 10, (60, 10, 600)),
    (20, -25, -10, (50, -10, 560)),
    (-20, -25, 0, (70, 0, 620)),
    (30, 0, 5, (40, 20, 540)),
    (0, 30, -5, (80, -20, 580)),
    (-30, 5, 15, (60, 0, 640)),
    (10, -10, 180, (60, 0, 600)),  # upside down: corner order must still agree between the views
]


@functools.lru_cache(maxsize=2)
def renderer(side: str) -> Renderer:
    return Renderer(K_LEFT, DIST_LEFT) if side == "left" else Renderer(K_RIGHT, DIST_RIGHT)


class Renderer:
    """Renders a flat board texture through a distorted pinhole camera (rays cached per camera)."""

    def __init__(self, K: np.ndarray, dist: np.ndarray):
        Khi = K * SS
        Khi[2, 2] = 1
        Khi[:2, 2] = K[:2, 2] * SS + (SS - 1) / 2  # a low-res pixel centre is the middle of its block
        u, v = np.meshgrid(
            np.arange(SIZE[0] * SS, dtype=np.float64), np.arange(SIZE[1] * SS, dtype=np.float64)
        )
        pix = np.stack([u.ravel(), v.ravel()], -1)[:, None]
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-10)
        xy = cv2.undistortPoints(pix, Khi, dist, criteria=crit).reshape(-1, 2)
        self.rays = np.column_stack([xy, np.ones(len(xy))]).T  # (3, HW) normalised rays

    def render(self, texture: np.ndarray, origin_px: float, px_per_mm: float, R_b, t_b) -> np.ndarray:
        """Board frame -> camera: X = R_b X_b + t_b; texture pixel edges at origin_px + X_b * px_per_mm."""
        b = np.linalg.solve(np.column_stack([R_b[:, 0], R_b[:, 1], t_b]), self.rays)
        shape = (SIZE[1] * SS, SIZE[0] * SS)
        mx = (origin_px + b[0] / b[2] * px_per_mm - 0.5).reshape(shape).astype(np.float32)
        my = (origin_px + b[1] / b[2] * px_per_mm - 0.5).reshape(shape).astype(np.float32)
        hi = cv2.remap(texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=150)
        return cv2.resize(hi, SIZE, interpolation=cv2.INTER_AREA)


def checkerboard_texture(board: Board, px: int = 40) -> tuple[np.ndarray, float, float]:
    """(image, texture coordinate of inner corner 0, px per mm); a one-square white margin."""
    squares = np.indices((board.rows + 1, board.cols + 1)).sum(0) % 2  # 0 = black, top-left black
    img = np.kron(squares, np.ones((px, px))) * 255
    img = np.pad(img, px, constant_values=255).astype(np.uint8)
    return img, 2.0 * px, px / board.square_mm


def charuco_texture(board: Board, px: int = 40) -> tuple[np.ndarray, float, float]:
    """Board corner (0, 0) is ChArUco's origin: the outer corner of the first square."""
    cb = cv2.aruco.CharucoBoard(
        (board.cols, board.rows),
        board.square_mm,
        board.marker_mm,
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50),
    )
    img = cb.generateImage((board.cols * px + 2 * px, board.rows * px + 2 * px), marginSize=px)
    return img, float(px), px / board.square_mm


def board_pose(board: Board, ax: float, ay: float, roll: float, centre) -> tuple[np.ndarray, np.ndarray]:
    R = rot("x", ax) @ rot("y", ay) @ rot("z", roll)
    obj = board.object_points()
    middle = (obj.min(0) + obj.max(0)) / 2
    return R, np.asarray(centre, dtype=np.float64) - R @ middle


def write_pairs(tmp: Path, board: Board, texture, poses=POSES) -> tuple[Path, Path]:
    left, right = tmp / "left", tmp / "right"
    left.mkdir()
    right.mkdir()
    rend_l, rend_r = renderer("left"), renderer("right")
    img, origin, ppm = texture
    for i, (ax, ay, roll, centre) in enumerate(poses):
        R_b, t_b = board_pose(board, ax, ay, roll, centre)
        cv2.imwrite(str(left / f"{i:03d}.png"), rend_l.render(img, origin, ppm, R_b, t_b))
        cv2.imwrite(
            str(right / f"{i:03d}.png"),
            rend_r.render(img, origin, ppm, R_RIGHT @ R_b, R_RIGHT @ t_b + T_RIGHT),
        )
    return left, right


CHECKER = Board("checkerboard", 9, 6, 30.0)


@pytest.fixture(scope="module")
def checker_pairs(tmp_path_factory) -> tuple[Path, Path]:
    return write_pairs(tmp_path_factory.mktemp("checker"), CHECKER, checkerboard_texture(CHECKER))


def rotation_error_deg(R_est: np.ndarray, R_true: np.ndarray) -> float:
    return math.degrees(float(np.linalg.norm(matrix_to_rodrigues(R_est @ R_true.T))))


def assert_recovers_rig(rig, f_tol=0.01, pp_px=3.0) -> None:
    for cam, K in ((rig.left, K_LEFT), (rig.right, K_RIGHT)):
        np.testing.assert_allclose(np.diag(cam.K)[:2], np.diag(K)[:2], rtol=f_tol)
        np.testing.assert_allclose(cam.K[:2, 2], K[:2, 2], atol=pp_px)
    np.testing.assert_allclose(rig.left.R, np.eye(3), atol=1e-12)
    assert rig.baseline_mm == pytest.approx(120.0, rel=0.01)
    assert rotation_error_deg(rig.R_right_from_left, R_RIGHT) < 0.5


def test_checkerboard_recovers_known_cameras(checker_pairs):
    res = calibrate_stereo(*checker_pairs, CHECKER)
    assert res.pairs_used == len(POSES), [f.reason for f in res.frames]
    assert_recovers_rig(res.rig)
    np.testing.assert_allclose(res.rig.left.dist[:2], DIST_LEFT[:2], atol=0.02)
    assert res.rms_left < 0.3 and res.rms_right < 0.3 and res.rms_stereo < 0.3
    assert res.angle_deg == pytest.approx(8.0, abs=0.5)


def test_detect_board_orders_corners_from_the_dark_corner(checker_pairs):
    left, _ = checker_pairs
    upright = detect_board(cv2.imread(str(left / "000.png"), cv2.IMREAD_GRAYSCALE), CHECKER)
    flipped = detect_board(cv2.imread(str(left / "007.png"), cv2.IMREAD_GRAYSCALE), CHECKER)
    assert upright.points.shape == (54, 2) and 0 < upright.edge_width_px < 3
    assert upright.points[0, 1] < upright.points[-1, 1]  # corner 0 at the top
    assert flipped.points[0, 1] > flipped.points[-1, 1]  # board upside down: corner 0 at the bottom


def test_charuco_recovers_known_cameras(tmp_path):
    board = Board("charuco", 6, 5, 40.0, 30.0, "DICT_4X4_50")
    res = calibrate_stereo(*write_pairs(tmp_path, board, charuco_texture(board, px=60)), board)
    assert res.pairs_used >= 6, [f.reason for f in res.frames]
    assert_recovers_rig(res.rig)
    assert res.rms_stereo < 0.5


def copy_pairs(pairs: tuple[Path, Path], dest: Path, n: int | None = None) -> tuple[Path, Path]:
    out = []
    for src in pairs:
        (dest / src.name).mkdir(parents=True)
        for f in sorted(src.iterdir())[:n]:
            shutil.copy(f, dest / src.name / f.name)
        out.append(dest / src.name)
    return out[0], out[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(["calibrate", *argv])
    except SystemExit as e:  # argparse usage errors
        rc = e.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_cli_rejects_bad_frames_writes_rig_rectified_rig_and_report(checker_pairs, tmp_path, capsys):
    left, right = copy_pairs(checker_pairs, tmp_path)
    first_l, first_r = cv2.imread(str(left / "000.png"), 0), cv2.imread(str(right / "000.png"), 0)
    cv2.imwrite(str(left / "100.png"), cv2.blur(first_l, (9, 1)))  # motion blur along x
    shutil.copy(right / "000.png", right / "100.png")
    cv2.imwrite(str(left / "101.png"), np.full_like(first_l, 128))  # no board on the left
    shutil.copy(right / "001.png", right / "101.png")
    shutil.copy(left / "002.png", left / "102.png")  # the right view of another pose: a stereo outlier
    shutil.copy(right / "003.png", right / "102.png")
    out, report = tmp_path / "rig.toml", tmp_path / "report.json"
    args = ["--left", str(left), "--right", str(right), "--square-mm", "30", "--out", str(out)]
    rc, stdout, _ = run_cli(capsys, *args, "--rectify", "--report", str(report))
    assert rc == 0
    assert "rejected 100.png: motion blur in the left view" in stdout
    assert "rejected 101.png: board not found in the left view" in stdout
    assert "rejected 102.png: reprojection error" in stdout
    assert "used 8 of 11 frame pairs" in stdout and "baseline 1" in stdout
    rig = load_rig(out)
    assert_recovers_rig(rig)
    rep = json.loads(report.read_text())
    assert rep["pairs_used"] == 8 and rep["rms_px"]["stereo"] < 0.3
    assert {f["name"]: f["used"] for f in rep["frames"]}["102.png"] is False
    rectified = load_rig(tmp_path / "rig_rectified.toml")
    assert rectified.is_rectified
    rows = []
    for (map_x, map_y), img in zip(rectification_maps(rig, rectified), (first_l, first_r), strict=True):
        det = detect_board(cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR), CHECKER)
        rows.append(det.points[:, 1])
    assert np.abs(rows[0] - rows[1]).max() < 0.5  # rectified: a corner lies on the same row in both views


def write_video(path: Path, frames: list[Path], repeat: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10, SIZE, False)
    assert writer.isOpened()
    for f in frames:
        for _ in range(repeat):
            writer.write(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE))
    writer.release()


def test_videos_sampled_every_nth_frame(checker_pairs, tmp_path):
    videos = []
    for folder in checker_pairs:
        videos.append(tmp_path / f"{folder.name}.avi")
        write_video(videos[-1], sorted(folder.iterdir()), repeat=3)
    res = calibrate_stereo(*videos, CHECKER, CalibrationConfig(every=3))
    assert [f.index for f in res.frames] == list(range(0, 3 * len(POSES), 3))
    assert res.pairs_used == len(POSES)
    assert_recovers_rig(res.rig)


def one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_bad_inputs_give_one_line_and_exit_2(checker_pairs, tmp_path, capsys):
    left, right = checker_pairs
    out = str(tmp_path / "rig.toml")
    board = ["--square-mm", "30", "--out", out]

    rc, _, err = run_cli(capsys, "--left", str(left), *board)  # one camera only
    assert rc == 2
    one_error_line(err, "--right")

    rc, _, err = run_cli(capsys, "--left", str(left), "--right", str(tmp_path / "nope"), *board)
    assert rc == 2
    one_error_line(err, "right camera", "no such folder or video")

    rc, _, err = run_cli(capsys, "--left", str(left), "--right", str(left), *board)
    assert rc == 2
    one_error_line(err, "same source")

    blank_l, blank_r = tmp_path / "blank_l", tmp_path / "blank_r"
    for d in (blank_l, blank_r):
        d.mkdir()
        for i in range(6):
            cv2.imwrite(str(d / f"{i}.png"), np.full((120, 160), 200, np.uint8))
    rc, _, err = run_cli(capsys, "--left", str(blank_l), "--right", str(blank_r), *board)
    assert rc == 2
    one_error_line(err, "no checkerboard 9x6", "any of the 6 frame pairs")

    few_l, few_r = copy_pairs(checker_pairs, tmp_path / "few", n=3)
    rc, _, err = run_cli(capsys, "--left", str(few_l), "--right", str(few_r), *board)
    assert rc == 2
    one_error_line(err, "only 3 usable frame pairs of 3 (need 5)")

    mixed_l, mixed_r = copy_pairs(checker_pairs, tmp_path / "mixed")
    cv2.imwrite(str(mixed_l / "003.png"), np.zeros((240, 320), np.uint8))
    rc, _, err = run_cli(capsys, "--left", str(mixed_l), "--right", str(mixed_r), *board)
    assert rc == 2
    one_error_line(err, "left camera:", "003.png: image size 320x240 differs", "640x480")

    (mixed_r / "007.png").write_bytes(b"not a png")
    (mixed_l / "003.png").unlink()
    shutil.copy(left / "003.png", mixed_l / "003.png")
    rc, _, err = run_cli(capsys, "--left", str(mixed_l), "--right", str(mixed_r), *board)
    assert rc == 2
    one_error_line(err, "right camera: cannot read image", "007.png")

    (mixed_r / "007.png").unlink()
    rc, _, err = run_cli(capsys, "--left", str(mixed_l), "--right", str(mixed_r), *board)
    assert rc == 2
    one_error_line(err, "different numbers of images (left 8, right 7)")

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\\x00" * 100)
    rc, _, err = run_cli(capsys, "--left", str(junk), "--right", str(right), *board)
    assert rc == 2
    one_error_line(err, "left camera: cannot read video")

    rc, _, err = run_cli(capsys, "--left", str(left), "--right", str(right), *board, "--board", "charuco")
    assert rc == 2
    one_error_line(err, "--marker-mm")


def test_board_validation():
    with pytest.raises(BinoposeError, match="marker size"):
        Board("charuco", 5, 4, 30.0, 40.0)
    with pytest.raises(BinoposeError, match="dictionary"):
        Board("charuco", 5, 4, 30.0, 20.0, "DICT_NOPE")
    with pytest.raises(BinoposeError, match="unknown board"):
        Board("circles")
    assert Board().object_points().shape == (54, 3)
    assert Board("charuco", 5, 4, 30.0, 20.0).object_points().shape == (12, 3)
