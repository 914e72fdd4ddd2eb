"""Per-joint mean 3D error (bias) on MHAD under the official protocol: where each method's error is
systematic, i.e. where its joint definitions differ from the file's.

    python experiments/joint_bias.py [--model PATH]

Compares triangulation of the mean-subtracted input (pelvis as detected, and from the hips), the
released Dual-Diffusion output stored in the file (trained on ten MHAD subjects), and the refiner at the
matched start level and at its family's default level. Writes ``experiments/results/joint_bias.json`` and
``docs/img/joint_bias.png``. Takes about 10 s on the 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from binopose.data.benchmark import load_benchmark
from binopose.evaluate import dualdiff_method, evaluate, triangulation_method
from binopose.io_utils import atomic_write, atomic_write_json
from binopose.metrics import pose_metrics
from binopose.refiner import Refiner, default_model_path

ROOT = Path(__file__).resolve().parents[1]
MHAD = ROOT.parent / "shared" / "data" / "mhad_stereo_test.npz"


def joint_row(metrics: dict, pred: np.ndarray, gt: np.ndarray) -> dict:
    """MPJPE overall and per joint (from :func:`binopose.metrics.pose_metrics`), and per joint the length
    of the mean error vector (camera frame), in mm."""
    return {
        "mpjpe": round(metrics["mpjpe_mm"], 2),
        "mpjpe_mm": np.round(metrics["per_joint_mm"], 2).tolist(),
        "bias_mm": np.linalg.norm(np.nanmean(pred - gt, 0), axis=-1).round(2).tolist(),
    }


def run(model: Path) -> dict:
    bench = load_benchmark(MHAD)
    methods = {
        "triangulation": triangulation_method("mean"),
        "triangulation, pelvis from the hips": triangulation_method("mean", root="hips"),
        "refiner, matched level (default)": dualdiff_method(Refiner.load(model), "mean"),
        "refiner, family's default level": dualdiff_method(Refiner.load(model), "mean", match_noise=False),
    }
    rows = {}
    for name, method in methods.items():
        metrics, pred = evaluate(bench, method, "official", name)
        rows[name] = joint_row(metrics, pred, bench.kp3d_gt)
    with np.load(MHAD) as f:
        released, names = f["kp3d_dualdiff_official"].astype(np.float64), [str(n) for n in f["joint_names"]]
    metrics = pose_metrics(released, bench.kp3d_gt, bench.subject, bench.action)
    rows["released Dual-Diffusion (trained on MHAD)"] = joint_row(metrics, released, bench.kp3d_gt)
    command = "python experiments/joint_bias.py" + (
        "" if model == default_model_path() else f" --model {model}"
    )
    return {"command": command, "joints": names, "rows": rows}


def plot(record: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    names, rows = record["joints"], record["rows"]
    fig, ax = plt.subplots(figsize=(12, 4.2))
    width = 0.8 / len(rows)
    x = np.arange(len(names))
    for i, (label, r) in enumerate(rows.items()):
        ax.bar(
            x + (i - (len(rows) - 1) / 2) * width, r["bias_mm"], width, label=f"{label} ({r['mpjpe']:.2f})"
        )
    ax.set_xticks(x, [n.replace("_", " ") for n in names], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("|mean error vector| (mm)")
    ax.set_title("MHAD, official protocol: systematic error per joint (legend: MPJPE)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=default_model_path(), help="model folder")
    ap.add_argument("--json", type=Path, default=ROOT / "experiments" / "results" / "joint_bias.json")
    ap.add_argument("--png", type=Path, default=ROOT / "docs" / "img" / "joint_bias.png")
    args = ap.parse_args()
    if not MHAD.exists():
        sys.exit(f"joint_bias: {MHAD} not found (needs ../shared/data)")
    record = run(args.model)
    atomic_write_json(args.json, record)
    plot(record, args.png)
    for label, r in record["rows"].items():
        print(f"{label:45s} MPJPE {r['mpjpe']:6.2f}  largest bias {max(r['bias_mm']):5.1f} mm")


if __name__ == "__main__":
    main()
