"""Round trips of rig files between binopose and aniposelib (pinhole, rational and fisheye cameras,
millimetres without a units line, as aniposelib writes them).

    python bench/interop_check.py --anipose-python /tmp/anipose_venv/bin/python [--json OUT.json]

aniposelib (0.8.0 pulls in numba and OpenCV-contrib) is not a binopose dependency: it runs in its own
interpreter, given by ``--anipose-python`` or ``$BINOPOSE_ANIPOSE_PYTHON``; without one the check is
skipped (exit 0, says so). Steps: aniposelib builds a 4-camera group (5 coefficients, 8 coefficients,
2 x fisheye), dumps it to TOML and projects 500 points; binopose reads that file and projects the same
points; binopose writes the cameras back (in mm: aniposelib ignores ``[metadata] units`` and takes the
numbers in its points' unit); aniposelib loads binopose's file and projects again. Prints
the largest pixel differences (table + JSON with the command and machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from binopose.errors import BinoposeWarning
from binopose.geometry.rig import Camera, load_cameras, load_rig, save_rig

ANIPOSE_SIDE = r"""
import sys, numpy as np
from aniposelib.cameras import Camera, FisheyeCamera, CameraGroup
mode, toml_path, npz_path = sys.argv[1:4]
pts = np.load(npz_path)["points"]
if mode == "write":
    K = [[900.0, 0.0, 640.0], [0.0, 905.0, 360.0], [0.0, 0.0, 1.0]]
    Kf = [[450.0, 0.0, 640.0], [0.0, 450.0, 360.0], [0.0, 0.0, 1.0]]
    cams = [
        Camera(name="cam_0", size=(1280, 720), matrix=K, dist=[-0.21, 0.08, 1e-3, -5e-4, -0.01],
               rvec=[0.0, 0.25, 0.0], tvec=[-150.0, 0.0, 3000.0]),
        Camera(name="cam_1", size=(1280, 720), matrix=K, dist=[0.9, -0.2, 1e-3, -2e-3, 0.05, 1.2, -0.1, 0.08],
               rvec=[0.0, -0.25, 0.0], tvec=[150.0, 0.0, 3000.0]),
        FisheyeCamera(name="cam_2", size=(1280, 720), matrix=Kf, dist=[0.08, -0.03, 0.01, -0.002],
                      rvec=[0.1, 0.0, 0.0], tvec=[0.0, -200.0, 2500.0]),
        FisheyeCamera(name="cam_3", size=(1280, 720), matrix=Kf, dist=[0.05, -0.01, 0.0, 0.0],
                      rvec=[0.0, 0.0, 0.05], tvec=[300.0, 0.0, 2500.0]),
    ]
    group = CameraGroup(cams)
    group.dump(toml_path)
else:
    group = CameraGroup.load(toml_path)
uv = group.project(pts)  # (cameras, points, 2)
fisheye = [type(c).__name__ == "FisheyeCamera" for c in group.cameras]
np.savez(npz_path.replace(".npz", f"_{mode}_out.npz"), uv=uv, fisheye=np.array(fisheye),
         names=np.array([c.get_name() for c in group.cameras]))
"""


def _project(cams: list[Camera], pts: np.ndarray) -> np.ndarray:
    """(cameras, points, 2): X_cam = R X + t, pinhole, then each camera's lens model."""
    out = []
    for c in cams:
        Xc = pts @ c.R.T + c.t
        ideal = torch.as_tensor((Xc[:, :2] / Xc[:, 2:]) @ c.K[:2, :2].T + c.K[:2, 2])
        out.append(c.distort(ideal).numpy())
    return np.stack(out)


def _anipose(python: str, mode: str, toml: Path, npz: Path, script: Path) -> dict:
    subprocess.run([python, str(script), mode, str(toml), str(npz)], check=True)
    with np.load(str(npz).replace(".npz", f"_{mode}_out.npz")) as d:
        return {k: d[k] for k in d.files}


def run(python: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "side.py").write_text(ANIPOSE_SIDE)
        rng = np.random.default_rng(0)
        np.savez(d / "pts.npz", points=rng.uniform([-600, -600, -500], [600, 600, 500], (500, 3)))
        pts = np.load(d / "pts.npz")["points"]
        ani = _anipose(python, "write", d / "anipose.toml", d / "pts.npz", d / "side.py")
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always", BinoposeWarning)
            rig = load_rig(d / "anipose.toml", "cam_0", "cam_1")  # no units line: auto
        cams = load_cameras(d / "anipose.toml", units="mm")
        ours = _project(cams, pts)
        save_rig(cams, d / "binopose.toml", units="mm")  # aniposelib ignores [metadata] units
        back = _anipose(python, "read", d / "binopose.toml", d / "pts.npz", d / "side.py")
        rows = []
        for i, c in enumerate(cams):
            rows.append(
                {
                    "camera": c.name,
                    "model": "fisheye" if c.fisheye else f"pinhole, {c.dist.size} coefficients",
                    "anipose_file_in_binopose_px": float(np.abs(ours[i] - ani["uv"][i]).max()),
                    "binopose_file_in_anipose_px": float(np.abs(back["uv"][i] - ani["uv"][i]).max()),
                    "fisheye_kept": bool(back["fisheye"][i]) == c.fisheye,
                }
            )
        return {
            "rows": rows,
            "units_note": [str(w.message) for w in notes],
            "baseline_mm_cam0_cam1": rig.baseline_mm,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anipose-python", default=os.environ.get("BINOPOSE_ANIPOSE_PYTHON"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    py = args.anipose_python
    if not py or subprocess.run([py, "-c", "import aniposelib"], capture_output=True).returncode:
        print(f"skipped: no interpreter with aniposelib (--anipose-python; got {py!r})")
        return 0
    version = subprocess.run([py, "-c", "import aniposelib; print(aniposelib.__version__)"], capture_output=True,
                             text=True).stdout.strip()  # fmt: skip
    res = run(py)
    print(f"{'camera':8} {'model':26} {'anipose->binopose px':>21} {'binopose->anipose px':>21} fisheye kept")
    for r in res["rows"]:
        print(
            f"{r['camera']:8} {r['model']:26} {r['anipose_file_in_binopose_px']:21.2e} "
            f"{r['binopose_file_in_anipose_px']:21.2e} {r['fisheye_kept']}"
        )
    print(f"units: {res['units_note']}; baseline cam_0/cam_1 {res['baseline_mm_cam0_cam1']:.1f} mm")
    doc = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, Python {platform.python_version()}",
        "aniposelib": version,
        **res,
    }
    print(json.dumps(doc, indent=1))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
