"""Pictures: the reprojected skeleton over both camera views (MP4 or PNGs), a 3D skeleton plot
(PNG) and a 3D animation (GIF or MP4). Matplotlib (Agg backend) and OpenCV are imported here only.

3D plots turn the left camera frame upright: "up" is the subject's mean ankles -> thorax direction.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeError
from binopose.geometry.camera import project
from binopose.geometry.rig import StereoRig
from binopose.io import Keypoints2D, Poses3D
from binopose.io_utils import atomic_write
from binopose.skeleton import BONES, LEFT_RIGHT_PAIRS
from binopose.video.media import FrameSource


def _tmp_name(path: Path, suffix: str) -> Path:
    """A temporary name next to ``path``, unique to this process and call (the writers pick the format
    from the suffix, so it ends in ``suffix``)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")


_LEFT_JOINTS = {left for _, left in LEFT_RIGHT_PAIRS}
_RIGHT_JOINTS = {right for right, _ in LEFT_RIGHT_PAIRS}


def _bone_color(child: int) -> tuple[float, float, float]:
    """RGB in [0, 1]: subject's left blue, right red, centre grey."""
    return (
        (0.1, 0.4, 0.95)
        if child in _LEFT_JOINTS
        else (0.9, 0.15, 0.15)
        if child in _RIGHT_JOINTS
        else (0.4, 0.4, 0.4)
    )


def reproject(poses: np.ndarray, rig: StereoRig) -> np.ndarray:
    """(N, 17, 3) mm, left camera frame -> (N, 2, 17, 2) pixels of both cameras (with lens distortion)."""
    P = rig.projection_matrices(torch.float64)
    uv = project(torch.as_tensor(poses, dtype=torch.float64), P)  # (N, 2, 17, 2)
    return rig.distort(uv).numpy()


def draw_skeleton(
    img: np.ndarray, uv: np.ndarray, thickness: int = 3, color: tuple[int, int, int] | None = None
) -> None:
    """Draw a (17, 2) skeleton on a BGR image in place (joints with NaN are left out)."""
    import cv2

    for c, p in BONES:
        a, b = uv[c], uv[p]
        if np.isfinite(a).all() and np.isfinite(b).all():
            bgr = color or tuple(int(255 * v) for v in _bone_color(c)[::-1])
            cv2.line(
                img,
                (int(round(a[0])), int(round(a[1]))),
                (int(round(b[0])), int(round(b[1]))),
                bgr,
                thickness,
                cv2.LINE_AA,
            )
    for q in uv:
        if np.isfinite(q).all():
            cv2.circle(
                img, (int(round(q[0])), int(round(q[1]))), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA
            )


def overlay_frame(
    images: tuple[np.ndarray, np.ndarray], reproj: np.ndarray, detected: np.ndarray | None, height: int
) -> np.ndarray:
    """Both views side by side at ``height`` px: detections thin green, reprojected 3D in colour."""
    import cv2

    tiles = []
    for v, img in enumerate(images):
        s = height / img.shape[0]
        tile = cv2.resize(img, (int(round(img.shape[1] * s)), height), interpolation=cv2.INTER_AREA)
        if detected is not None:
            draw_skeleton(tile, (detected[v] + 0.5) * s - 0.5, max(1, height // 400), (80, 220, 80))
        draw_skeleton(tile, (reproj[v] + 0.5) * s - 0.5, max(2, height // 200))
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def write_overlay(
    left: FrameSource,
    right: FrameSource,
    reproj: np.ndarray,
    kp: Keypoints2D,
    path: str | Path,
    fps: float = 30.0,
    height: int = 640,
    progress: bool = False,
) -> Path:
    """The overlay of every frame pair: an MP4 (``path`` ends in .mp4) or a folder of PNGs."""
    import cv2
    from tqdm import tqdm

    path = Path(path)
    (ls, rs), n = kp.frame_index[0], len(reproj)
    pairs = tqdm(
        zip(left.frames(int(ls), int(ls) + n), right.frames(int(rs), int(rs) + n), strict=False),
        total=n,
        desc="overlay",
        unit="pair",
        disable=not progress,
    )
    if path.suffix.lower() != ".mp4":
        path.mkdir(parents=True, exist_ok=True)
        for i, ((fi, a), (_, b)) in enumerate(pairs):
            ok, buf = cv2.imencode(".png", overlay_frame((a, b), reproj[i], kp.kp2d[i], height))
            atomic_write(path / f"overlay_{fi:06d}.png", lambda p, buf=buf: p.write_bytes(buf.tobytes()))
        return path

    tmp = _tmp_name(path, ".mp4")  # the writer picks the container from the suffix
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    try:
        for i, ((_, a), (_, b)) in enumerate(pairs):
            frame = overlay_frame((a, b), reproj[i], kp.kp2d[i], height)
            if writer is None:
                writer = cv2.VideoWriter(
                    str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0])
                )
                if not writer.isOpened():
                    raise BinoposeError(f"OpenCV cannot write MP4 video {path} (mp4v codec unavailable)")
            writer.write(frame)
        if writer is None:
            raise BinoposeError(f"no frames to write to {path}")
        writer.release()
        tmp.replace(path)
    finally:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
    return path


def upright_basis(poses: np.ndarray) -> np.ndarray:
    """(3, 3) rows = plot axes in the camera frame: "up" is the mean mid-ankles -> thorax direction of
    the poses (the camera's -y if unknown), the first axis the camera's x made orthogonal to it."""
    X = poses.reshape(-1, poses.shape[-2], 3)
    up = (
        np.nanmean(X[:, 8] - 0.5 * (X[:, 0] + X[:, 5]), axis=0)
        if np.isfinite(X[:, [0, 5, 8]]).any()
        else None
    )
    up = np.array([0.0, -1.0, 0.0]) if up is None or not np.isfinite(up).all() else up / np.linalg.norm(up)
    x = np.array([1.0, 0.0, 0.0]) - up[0] * up
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(up, x), up])


def _upright(pose: np.ndarray, basis: np.ndarray) -> np.ndarray:
    return pose @ basis.T


def _setup_3d(ax, poses: np.ndarray, basis: np.ndarray) -> None:
    pts = _upright(poses.reshape(-1, 3), basis)
    pts = pts[np.isfinite(pts).all(-1)]
    centre = (pts.max(0) + pts.min(0)) / 2 if len(pts) else np.zeros(3)
    r = max(float((pts.max(0) - pts.min(0)).max()) / 2, 500.0) if len(pts) else 1000.0
    for setter, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), centre, strict=True):
        setter(c - r, c + r)
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("depth (mm)")
    ax.set_zlabel("up (mm)")
    ax.view_init(elev=12, azim=-70)


def _draw_3d(
    ax, pose: np.ndarray, basis: np.ndarray, style: str = "-", alpha: float = 1.0, label: str | None = None
) -> list:
    q = _upright(pose, basis)
    artists = []
    for k, (c, p) in enumerate(BONES):
        (ln,) = ax.plot(
            *zip(q[c], q[p], strict=False),
            style,
            color=_bone_color(c),
            lw=2.5,
            alpha=alpha,
            label=label if k == 0 else None,
        )
        artists.append(ln)
    return artists


def plot_pose_3d(
    poses: np.ndarray, path: str | Path, title: str = "", others: dict[str, np.ndarray] | None = None
) -> Path:
    """PNG of one (17, 3) pose (mm); ``others`` {label: (17, 3)} are drawn dashed for comparison."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot(projection="3d")
    stack = [poses] + list((others or {}).values())
    basis = upright_basis(np.stack(stack))
    _setup_3d(ax, np.stack(stack), basis)
    _draw_3d(ax, poses, basis, label="binopose" if others else None)
    for k, (label, other) in enumerate((others or {}).items()):
        _draw_3d(ax, other, basis, ("--", ":", "-.")[k % 3], 0.6, label)
    if others:
        ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title, fontsize=10)
    path = Path(path)
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def animate_poses_3d(
    poses: np.ndarray, path: str | Path, fps: float = 30.0, max_frames: int = 60, title: str = ""
) -> Path:
    """GIF (or MP4) of a (N, 17, 3) sequence; long sequences are subsampled to ``max_frames``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    path = Path(path)
    if len(poses) == 0:
        raise BinoposeError("nothing to animate: no poses")
    stride = max(1, int(np.ceil(len(poses) / max_frames)))
    seq = poses[::stride]
    fig = plt.figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot(projection="3d")
    basis = upright_basis(seq)
    _setup_3d(ax, seq, basis)
    lines = _draw_3d(ax, seq[0], basis)

    def update(i: int) -> list:
        q = _upright(seq[i], basis)
        for ln, (c, p) in zip(lines, BONES, strict=False):
            ln.set_data_3d(*zip(q[c], q[p], strict=False))
        ax.set_title(f"{title} frame {i * stride}".strip(), fontsize=9)
        return lines

    anim = FuncAnimation(fig, update, frames=len(seq), blit=False)
    rate = max(1.0, fps / stride)
    if path.suffix.lower() == ".gif":
        writer, fmt = PillowWriter(fps=rate), ".gif"
    elif path.suffix.lower() == ".mp4":
        writer, fmt = FFMpegWriter(fps=rate), ".mp4"
    else:
        raise BinoposeError(f"animation must be .gif or .mp4, got {path}")
    tmp = _tmp_name(path, fmt)
    try:
        anim.save(str(tmp), writer=writer, dpi=72)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)
    return path


def render_all(
    poses: Poses3D,
    kp: Keypoints2D,
    rig: StereoRig,
    left: FrameSource,
    right: FrameSource,
    out: Path,
    progress: bool = False,
) -> dict[str, str]:
    """The overlay video, a 3D plot of the middle frame and the 3D animation; returns their paths."""
    fps = poses.fps or 30.0
    complete = np.flatnonzero(np.isfinite(poses.poses).all((1, 2)))
    files = {
        "overlay_mp4": str(
            write_overlay(
                left, right, reproject(poses.poses, rig), kp, out / "overlay.mp4", fps, progress=progress
            )
        )
    }
    if len(complete):
        mid = int(complete[len(complete) // 2])
        files["pose_3d_png"] = str(
            plot_pose_3d(poses.poses[mid], out / "pose_3d.png", f"frame {poses.frame_index[mid]}")
        )
        files["pose_3d_gif"] = str(animate_poses_3d(poses.poses, out / "pose_3d.gif", fps))
    return files
