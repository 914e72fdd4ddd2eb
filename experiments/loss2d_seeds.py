"""The paper's 2D reprojection loss against the 3D loss, two seeds, short length (issue 15): the
pre-registered rule of 2026-12-03 16:02 UTC (git log: "Pre-registered ... the 2D reprojection loss, two
seeds").

    PYTHONPATH=src .venv/bin/python experiments/loss2d_seeds.py [--json experiments/results/loss2d_seeds.json]

Trains the ablation recipe of ``train_ablations.sh`` (1000 steps of 512, no real detector pairs) for
``base`` (3D loss) and ``loss2d`` (2D reprojection loss alone) with seeds 1 and 2 into
``runs/seeds_<name>_<seed>`` (skipped when the model is there), then scores each network alone
(``--definitions model --gate off --conf-evidence raw``) on MHAD (official protocol) and on the
Stacked-Hourglass file (cross-subject, mean bias, matched level; subject S8).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from binopose.io_utils import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BP = [sys.executable, "-m", "binopose"]
SHORT = "steps=1000 batch_size=512 val_every=500 warmup=100 ckpt_every=100 real_pairs.fraction=0.0".split()
LOSSES = {"base": [], "loss2d": ["loss.w3d=0.0", "loss.w2d=1.0"]}
SEEDS = (1, 2)
NETWORK_ALONE = ["--definitions", "model", "--gate", "off", "--conf-evidence", "raw"]
EVALS = {
    "mhad_official": ([str(DATA / "mhad_stereo_test.npz"), "--protocol", "official"], None),
    "sh_s8_xs": (
        [str(DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz"), "--protocol", "cross-subject"]
        + ["--bias", "mean", "--level", "matched"],
        "S8",
    ),
}


def train(name: str, seed: int) -> Path:
    out = ROOT / "runs" / f"seeds_{name}_{seed}"
    model = out / "model"
    if not (model / "model.safetensors").exists():
        cmd = [
            *BP,
            "train",
            "--config",
            "configs/default.yaml",
            "--no-progress",
            f"out={out}",
            f"seed={seed}",
            "threads=1",  # beside other jobs on 2 cores: more threads than cores stall torch
        ]
        subprocess.run(cmd + SHORT + LOSSES[name], cwd=ROOT, check=True)
    return model


def score(model: Path, key: str) -> float:
    args, subject = EVALS[key]
    js = model.parent / f"eval_{key}.json"
    cmd = [
        *BP,
        "eval",
        *args,
        "--method",
        "dualdiff",
        "--model",
        str(model),
        *NETWORK_ALONE,
        "--json",
        str(js),
    ]
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    r = json.loads(js.read_text())
    return float(r["per_subject"][subject]["mpjpe_mm"] if subject else r["mpjpe_mm"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=ROOT / "experiments" / "results" / "loss2d_seeds.json")
    args = ap.parse_args(argv)
    table: dict = {}
    for seed in SEEDS:
        for name in LOSSES:
            model = train(name, seed)
            table[f"{name}/{seed}"] = {k: round(score(model, k), 2) for k in EVALS}
            print(name, seed, table[f"{name}/{seed}"], flush=True)
    wins = [table[f"loss2d/{s}"][k] < table[f"base/{s}"][k] for s in SEEDS for k in EVALS]
    verdict = (
        "better at short length"
        if all(wins)
        else "worse at short length"
        if not any(wins)
        else "not settled by two seeds"
    )
    means = {
        n: {k: round(float(np.mean([table[f"{n}/{s}"][k] for s in SEEDS])), 2) for k in EVALS} for n in LOSSES
    }
    result = {
        "command": " ".join(sys.argv),
        "table": table,
        "means": means,
        "loss2d_wins": wins,
        "verdict": verdict,
    }
    print(json.dumps(result, indent=1))
    atomic_write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
