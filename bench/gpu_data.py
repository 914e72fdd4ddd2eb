"""Copy what a GPU run needs from ``../shared/data`` into ``.gpu/`` (git-ignored), small enough to travel.

    python bench/gpu_data.py [--shared ../shared/data] [--out .gpu]

A lent GPU machine receives only the repository (64 MiB in all), so the corpora are thinned here: every
4th frame of the Human3.6M and Bandai-Namco poses, every 4th frame of the Stacked-Hourglass development
file's training subjects (S1 S5 S6 S7; its S8 is not copied), and the MHAD test file whole. It also
writes ``.gpu/train.yaml``: ``configs/default.yaml`` pointed at these copies (strides 1). Nothing of it
is committed (Human3.6M-derived data never enter the repository).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def thin(src: Path, dst: Path, keep: np.ndarray | None, stride: int) -> None:
    """Every ``stride``-th row (of those ``keep`` selects) of every per-row array; the rest as is."""
    z = np.load(src, allow_pickle=False)
    rows = next(len(z[k]) for k in ("kp3d_world_mm", "kp2d_pred") if k in z.files)
    sel = np.arange(rows) if keep is None else np.flatnonzero(keep)
    sel = sel[::stride]
    out = {k: (z[k][sel] if z[k].ndim >= 1 and len(z[k]) == rows else z[k]) for k in z.files}
    np.savez_compressed(dst, **out)
    print(f"{dst}: {len(sel)} of {rows} rows, {dst.stat().st_size / 2**20:.1f} MiB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--out", default=str(ROOT / ".gpu"))
    args = p.parse_args(argv)
    src, out = Path(args.shared), Path(args.out)
    if not src.is_dir():
        print(f"error: {src} is not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    thin(src / "h36m_train" / "h36m_train_poses.npz", out / "h36m_train_poses.npz", None, 4)
    thin(src / "bandai_namco" / "bandai_namco_h36m17.npz", out / "bandai_namco_h36m17.npz", None, 4)
    sh = src / "h36m_sh_train" / "h36m_sh_stereo_train.npz"
    subj = np.load(sh, allow_pickle=False)["subject"]
    thin(sh, out / "h36m_sh_stereo_train.npz", np.isin(subj, ["S1", "S5", "S6", "S7"]), 4)
    shutil.copyfile(src / "mhad_stereo_test.npz", out / "mhad_stereo_test.npz")
    cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    cfg["corpora"] = [
        {"path": ".gpu/h36m_train_poses.npz", "stride": 1},
        {"path": ".gpu/bandai_namco_h36m17.npz", "stride": 1},
    ]
    cfg["noise"]["fit_from"] = cfg["real_pairs"]["path"] = ".gpu/h36m_sh_stereo_train.npz"
    (out / "train.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    total = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"{out}: {total:.1f} MiB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
