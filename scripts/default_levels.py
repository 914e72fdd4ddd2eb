"""Choose a trained model's default start levels, as ``binopose train`` does when it ends, and draw the
tables behind them.

    python scripts/default_levels.py MODEL [--config configs/default.yaml] [--write]

The tables come from the validation poses of the training config (held-out subjects and clips, virtual
rigs): refinement MPJPE over triangulation's for each true level of a family's errors and each start
level. ``--write`` stores the levels in the model (weights unchanged); without it nothing is written
but the JSON and the PNG.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from binopose.checkpoint import load_model, save_model  # noqa: E402
from binopose.config import load_config  # noqa: E402
from binopose.io_utils import atomic_write_json  # noqa: E402
from binopose.refiner import Refiner  # noqa: E402
from binopose.train import TrainConfig, load_poses, validation_set  # noqa: E402
from binopose.validate import START_LEVELS, TRUE_LEVELS, with_default_levels  # noqa: E402


def _plot(tables: dict[str, list], levels: dict[str, float], path: Path) -> None:
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 4.2), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        t = np.asarray(table)
        im = ax.imshow(t, cmap="RdBu_r", vmin=0.7, vmax=1.3, origin="lower", aspect="auto")
        for i in range(t.shape[0]):
            for j in range(t.shape[1]):
                ax.text(j, i, f"{t[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(START_LEVELS)), [str(s) for s in START_LEVELS])
        ax.set_yticks(range(len(TRUE_LEVELS)), [str(s) for s in TRUE_LEVELS])
        ax.set_xlabel("start level of refinement")
        ax.set_ylabel("true level of the 2D errors")
        ax.set_title(f"{name}: MPJPE / triangulation's (default {levels[name]})")
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(model: Path, config: str, json_path: Path, png_path: Path, write: bool = False) -> dict[str, float]:
    """Choose the levels of ``model`` on the validation poses of ``config``; JSON, PNG, and the model
    itself with ``write``. Returns the levels per family."""
    cfg = load_config(TrainConfig, config)
    _, val_poses = load_poses(cfg)
    val = validation_set(val_poses, cfg, [], [])
    refiner = Refiner.load(model)
    models, tables = with_default_levels(refiner, val["batch"], {"per-view"} if cfg.noise.fit_from else set())
    levels = {k: m.default_level for k, m in models.items()}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": f"python scripts/default_levels.py {model} --config {config}",
        "levels": levels,
        "true_levels": TRUE_LEVELS,
        "start_levels": START_LEVELS,
        "tables": tables,
    }
    atomic_write_json(json_path, record)
    _plot(tables, levels, png_path)
    if write:
        state, model_config, err = load_model(model)
        for m in err["models"]:
            m["default_level"] = levels[m["name"]]
        save_model(model, state, model_config, err)
    return levels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="model folder")
    ap.add_argument("--config", default="configs/default.yaml", help="the model's training config")
    ap.add_argument("--json", type=Path, default=Path("docs/results/levels.json"))
    ap.add_argument("--png", type=Path, default=Path("docs/img/levels.png"))
    ap.add_argument("--write", action="store_true", help="store the levels in the model folder")
    args = ap.parse_args()
    print(json.dumps(run(args.model, args.config, args.json, args.png, args.write)))
    if args.write:
        print(f"wrote {args.model}")


if __name__ == "__main__":
    main()
