"""Choose a trained model's default start levels, as ``binopose train`` does when it ends, and draw the
tables behind them.

    python experiments/default_levels.py MODEL [--config configs/default.yaml] [--write]

The tables come from the validation poses of the training config (held-out subjects and clips, virtual
rigs): refinement MPJPE over triangulation's for each true level of a family's errors and each start
level. ``--write`` stores the levels in the model (weights unchanged); without it nothing is written
but the JSON and the PNG.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from binopose.checkpoint import load_model, save_model
from binopose.config import load_config
from binopose.data.presets import measured_families
from binopose.io_utils import atomic_write_json, json_text
from binopose.refiner import Refiner
from binopose.training.train import TrainConfig, load_poses
from binopose.training.validate import (
    START_LEVELS,
    TRUE_LEVELS,
    plot_level_tables,
    validation_set,
    with_default_levels,
)


def run(model: Path, config: str, json_path: Path, png_path: Path, write: bool = False) -> dict[str, float]:
    """Choose the levels of ``model`` on the validation poses of ``config``; JSON, PNG, and the model
    itself with ``write``. Returns the levels per family."""
    cfg = load_config(TrainConfig, config)
    _, val_poses = load_poses(cfg)
    val = validation_set(val_poses, cfg, [], [])
    refiner = Refiner.load(model)
    models, tables = with_default_levels(refiner, val["batch"], measured_families(cfg.noise))
    levels = {k: m.default_level for k, m in models.items()}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": f"python experiments/default_levels.py {model} --config {config}",
        "levels": levels,
        "true_levels": TRUE_LEVELS,
        "start_levels": START_LEVELS,
        "tables": tables,
    }
    atomic_write_json(json_path, record)
    plot_level_tables(tables, levels, png_path)
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
    ap.add_argument("--json", type=Path, default=Path("experiments/results/levels.json"))
    ap.add_argument("--png", type=Path, default=Path("docs/img/levels.png"))
    ap.add_argument("--write", action="store_true", help="store the levels in the model folder")
    args = ap.parse_args()
    print(json_text(run(args.model, args.config, args.json, args.png, args.write), indent=None))
    if args.write:
        print(f"wrote {args.model}")


if __name__ == "__main__":
    main()
