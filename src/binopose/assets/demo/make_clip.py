"""Rebuild this folder's clip from the Pose2Sim demo data (not run by binopose; kept for provenance).

    python make_clip.py /path/to/pose2sim_demo [SCALE]

Takes cam03 (left) and cam04 (right) of Pose2Sim's Demo_SinglePerson, synchronises them with the
frame offsets found in the 4-view reference (cam03 video frame i + 1 <-> cam04 video frame i),
downscales by SCALE (default 0.5) with INTER_AREA, re-encodes as MPEG-4 Part 2 (mp4v), and writes
rig.toml with K scaled the way cv2.resize maps pixels (x' + 0.5 = (x + 0.5) * s), plus
reference.npz: the 4-view reference in the left camera frame (mm) for the same frames.
"""

import sys
from pathlib import Path

import cv2
import numpy as np

from binopose.geometry.rig import Camera, load_cameras, save_rig

HERE = Path(__file__).resolve().parent
LEFT, RIGHT = "cam03", "cam04"


def main(src: Path, scale: float = 0.5) -> None:
    ref = np.load(src / "reference_4view.npz")
    names = [str(n) for n in ref["camera_names"]]
    cams = {c.name: c for c in load_cameras(src / "calibration_opencv.toml")}
    out_cams = []
    for side, name in (("left", LEFT), ("right", RIGHT)):
        k = names.index(name)
        frames = ref["video_frame_idx"][k]
        cap = cv2.VideoCapture(str(src / f"{name}.mp4"))
        imgs = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            imgs.append(img)
        h, w = imgs[0].shape[:2]
        size = (int(round(w * scale)), int(round(h * scale)))
        writer = cv2.VideoWriter(
            str(HERE / f"{side}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), float(ref["fps"]), size
        )
        for f in frames:
            writer.write(cv2.resize(imgs[f], size, interpolation=cv2.INTER_AREA))
        writer.release()
        c = cams[name]
        sx, sy = size[0] / w, size[1] / h
        K = c.K.copy()
        K[0, 0], K[0, 2] = K[0, 0] * sx, (K[0, 2] + 0.5) * sx - 0.5
        K[1, 1], K[1, 2] = K[1, 1] * sy, (K[1, 2] + 0.5) * sy - 0.5
        out_cams.append(Camera(name, size, K, c.dist, c.R, c.t))
    save_rig(out_cams, HERE / "rig.toml", units="m")
    left = out_cams[0]
    X_left = ref["kp3d_ref_4view_mm"] @ left.R.T + left.t  # world (mm) -> left camera frame (mm)
    np.savez_compressed(
        HERE / "reference.npz",
        kp3d_ref_4view_left_mm=X_left.astype(np.float32),
        synced_frame=np.arange(len(X_left)),
        cameras=np.array([LEFT, RIGHT]),
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.5)
