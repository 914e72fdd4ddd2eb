"""Does the default refinement ever make poses worse than triangulation of the same input? (issue 15)

    .venv/bin/python experiments/do_no_harm.py [--out experiments/results/do_no_harm.json]

For MHAD (all frames) and the Stacked-Hourglass development file (held-out subject S8 only), under the
raw, cross-subject and official protocols, scores triangulation and three refiners on the same 2D
input (the refiner's default bias for that protocol, ``binopose.evaluate.default_bias``):
``v5`` (the network's output as shipped until 2026-12-03: model definitions, no gate), ``keep``
(definitions kept, :func:`binopose.offsets.keep_definitions`) and ``gate`` (keep + the
Stein-risk gate, :mod:`binopose.guard`). The rule these numbers decide was committed before the code
(git log: "Pre-registered 2026-12-03 09:14 UTC" and "09:16 UTC").
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from binopose.data.benchmark import load_benchmark, protocol_folds
from binopose.evaluate import default_bias, dualdiff_method, triangulation_method
from binopose.io_utils import atomic_write_json
from binopose.metrics import pose_metrics
from binopose.refiner import Refiner

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FILES = {
    "mhad": (DATA / "mhad_stereo_test.npz", None),
    "sh_s8": (DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz", "S8"),
}
PROTOCOLS = ("raw", "cross-subject", "official")
VARIANTS = {
    "v5": dict(definitions="model", gate=False),
    "keep": dict(definitions="keep", gate=False),
    "gate": dict(definitions="keep", gate=True),
}
METRICS = ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm")


def folds_for(bench, protocol: str, subject: str | None):
    """(test frames, stats) pairs: every fold, or only the held-out subject's frames."""
    out = []
    for f in protocol_folds(bench, protocol):
        idx = f.test_index if subject is None else f.test_index[bench.subject[f.test_index] == subject]
        if len(idx):
            out.append((idx, f.stats))
    return out


def score(bench, folds, method) -> dict:
    idx = np.concatenate([i for i, _ in folds])
    pred = np.concatenate([np.asarray(method(bench.subset(i).blind(), st)) for i, st in folds])
    m = pose_metrics(pred, bench.kp3d_gt[idx])
    return {k: round(m[k], 2) for k in METRICS}


def run() -> dict:
    base = Refiner.load()
    table: dict = {}
    for name, (path, subject) in FILES.items():
        if not path.exists():
            print(f"skip {name}: {path} not found")
            continue
        bench = load_benchmark(path)
        for protocol in PROTOCOLS:
            folds = folds_for(bench, protocol, subject)
            bias = default_bias("dualdiff", protocol)
            row = {"bias": bias, "triangulate": score(bench, folds, triangulation_method(bias=bias))}
            for v, opts in VARIANTS.items():
                t0 = time.perf_counter()
                row[v] = score(bench, folds, dualdiff_method(replace(base, **opts), bias=bias, level="auto"))
                row[v]["seconds"] = round(time.perf_counter() - t0, 1)
            table[f"{name}/{protocol}"] = row
            print(name, protocol, json.dumps(row), flush=True)
    return table


def harmed(table: dict, variant: str) -> list[str]:
    return [
        f"{cell}:{m}"
        for cell, row in table.items()
        for m in METRICS
        if row[variant][m] > row["triangulate"][m]
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "do_no_harm.json"))
    args = ap.parse_args()
    table = run()
    summary = {v: harmed(table, v) for v in VARIANTS}
    for v, cells in summary.items():
        print(f"{v}: {len(cells)} harmed cells {cells}")
    atomic_write_json(args.out, {"table": table, "harmed": summary})


if __name__ == "__main__":
    main()
