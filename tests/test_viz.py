"""Pictures are written and non-empty: 3D PNG, GIF animation, overlay MP4 and PNG frames."""

from __future__ import annotations

import cv2
import numpy as np

from binopose.geometry.rig import Camera, StereoRig, rodrigues_to_matrix
from binopose.io import Keypoints2D
from binopose.video.media import open_media
from binopose.viz import animate_poses_3d, plot_pose_3d, reproject, upright_basis, write_overlay


def _poses(n: int = 4) -> np.ndarray:
    base = np.random.default_rng(0).uniform([-250, -800, -150], [250, 800, 150], size=(17, 3))
    return base[None] + np.array([0.0, 0, 4000]) + np.arange(n)[:, None, None] * [20.0, 0, 0]


def test_plot_and_animation(tmp_path):
    X = _poses()
    png = plot_pose_3d(X[0], tmp_path / "p.png", "t", others={"ref": X[1]})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    gif = animate_poses_3d(X, tmp_path / "a.gif", fps=10)
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_upright_basis_is_a_rotation():
    B = upright_basis(_poses())
    np.testing.assert_allclose(B @ B.T, np.eye(3), atol=1e-9)
    assert np.linalg.det(B) > 0


def test_overlay(tmp_path):
    K = np.array([[40.0, 0, 31.5], [0, 40.0, 23.5], [0, 0, 1]])
    R = rodrigues_to_matrix(np.array([0, -0.2, 0]))
    rig = StereoRig(Camera("L", (64, 48), K), Camera("R", (64, 48), K, np.zeros(5), R, -R @ [800.0, 0, 0]))
    X = _poses()
    uv = reproject(X, rig)
    assert uv.shape == (4, 2, 17, 2)
    for name in ("l.mp4", "r.mp4"):
        w = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
        for i in range(4):
            w.write(np.full((48, 64, 3), 60 * i, np.uint8))
        w.release()
    kp = Keypoints2D(uv, np.ones((4, 2, 17)), np.zeros((4, 2), int) + np.arange(4)[:, None])
    left, right = open_media(tmp_path / "l.mp4"), open_media(tmp_path / "r.mp4")
    mp4 = write_overlay(left, right, uv, kp, tmp_path / "o.mp4", fps=10, height=96)
    assert open_media(mp4).info.frames == 4 and open_media(mp4).info.size == (256, 96)
    folder = write_overlay(left, right, uv, kp, tmp_path / "frames", height=48)
    assert sorted(p.name for p in folder.iterdir()) == [f"overlay_{i:06d}.png" for i in range(4)]
