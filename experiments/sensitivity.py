"""Sensitivity of triangulation and the default refiner to baseline, depth, 2D noise level and kind.

Held-out 3D poses (Human3.6M S8, never trained on) on virtual rigs with one factor varied at a time;
2D errors drawn from the model's own error families. Writes JSON and PNG plots.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from binopose.data.corpora import load_corpus
from binopose.data.noise import sample_errors
from binopose.data.rigs import RigConfig
from binopose.data.synth import AugmentConfig, make_batch
from binopose.geometry import triangulate
from binopose.io_utils import json_text
from binopose.refiner import RefineOptions, Refiner

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BASE = {"baseline_m": 0.5, "distance_m": 3.5, "sigma": 1.0}
SWEEPS = {
    "baseline_m": [0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
    "distance_m": [1.5, 2.5, 3.5, 5.0, 7.0, 9.0],
    "sigma": [0.25, 0.5, 1.0, 1.5, 2.0],
}


def _measure(
    ref: Refiner, poses: torch.Tensor, kind: str, baseline_m: float, distance_m: float, sigma: float
) -> dict:
    gen = torch.Generator().manual_seed(5)
    rig = RigConfig(
        baseline_ratio=(1e-3, 1e3),
        baseline_m=(baseline_m, baseline_m),
        distance_m=(distance_m, distance_m),
        converge_prob=0.5,
    )
    b = make_batch(poses, rig, AugmentConfig(mirror_prob=0.0), gen)
    m = ref.error_models[kind]
    u = b.u + sample_errors(m, b.scale_px, torch.full((len(poses),), sigma), gen, with_bias=False).double()
    tri = triangulate(u, b.P)
    ok = torch.isfinite(tri).all(-1).all(-1)
    dd = ref.refine(u[ok], b.P[ok], options=RefineOptions(start_sigma=sigma, noise_kind=kind)).poses
    gt = b.X[ok]

    def err(X: torch.Tensor) -> tuple[float, float]:
        rel = (X - X[:, 6:7]) - (gt - gt[:, 6:7])
        return float((X - gt).norm(dim=-1).mean()), float(rel.norm(dim=-1).mean())

    (ta, tr), (da, dr) = err(tri[ok]), err(dd)
    return {"tri_mpjpe": ta, "tri_rel": tr, "dd_mpjpe": da, "dd_rel": dr, "n": int(ok.sum())}


def run(out_json: Path, img_dir: Path, n: int = 2000, model: str | None = None) -> dict:
    corpus = load_corpus(DATA / "h36m_train" / "h36m_train_poses.npz", stride=1)
    val = corpus.select(np.char.endswith(corpus.group, ":S8"))
    poses = torch.from_numpy(val.poses[np.random.default_rng(0).choice(len(val), n, replace=False)])
    ref = Refiner.load(model)
    res: dict = {"base": BASE, "n": n, "sweeps": {}}
    for kind in ("stereo", "per-view"):
        for factor, values in SWEEPS.items():
            rows = []
            for v in values:
                args = {**BASE, factor: v}
                rows.append({factor: v, **_measure(ref, poses, kind, **args)})
            res["sweeps"][f"{kind}/{factor}"] = rows
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json_text(res, indent=2))
    _plot(res, img_dir / "sensitivity.png")
    return res


def _plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for r, kind in enumerate(("stereo", "per-view")):
        for c, factor in enumerate(SWEEPS):
            rows = res["sweeps"][f"{kind}/{factor}"]
            x = [row[factor] for row in rows]
            ax = axes[r, c]
            for key, style, label in (
                ("tri_mpjpe", "k--", "triangulation MPJPE"),
                ("dd_mpjpe", "C0-", "refined MPJPE"),
                ("tri_rel", "k:", "triangulation MPJPE-rel"),
                ("dd_rel", "C1-", "refined MPJPE-rel"),
            ):
                ax.plot(x, [row[key] for row in rows], style, marker="o", ms=3, label=label)
            ax.set(xlabel=factor, ylabel="mm", title=f"{kind} 2D errors", yscale="log")
            if factor == "baseline_m":
                ax.set_xscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"held-out poses (H36M S8) on virtual rigs; fixed factors: {BASE}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
