"""Rebuild every number and plot of docs/RESULTS.md.

    python scripts/results.py                 # evaluations (CLI commands, JSON under docs/results/)
    python scripts/results.py --sensitivity   # also the synthetic sensitivity study and its plots

Each row is one ``binopose eval`` command, run through the CLI entry point exactly as printed; the
JSON it writes is what the tables are made from. Missing data files or models skip their rows.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "docs" / "results"
MHAD = DATA / "mhad_stereo_test.npz"
SH = DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz"

# (name, data file, command arguments after "binopose eval DATA")
ROWS: list[tuple[str, Path, str]] = [
    ("mhad_tri_raw", MHAD, "--method triangulate --protocol raw"),
    ("mhad_tri_official", MHAD, "--method triangulate --protocol official"),
    ("mhad_dd_official", MHAD, "--method dualdiff --protocol official"),
    ("mhad_dd_official_k2", MHAD, "--method dualdiff --protocol official --steps 2"),
    ("mhad_dd_official_k3", MHAD, "--method dualdiff --protocol official --steps 3"),
    ("mhad_dd_official_h5mean", MHAD, "--method dualdiff --protocol official --hypotheses 5"),
    (
        "mhad_dd_official_h5reproj",
        MHAD,
        "--method dualdiff --protocol official --hypotheses 5 --aggregate reprojection",
    ),
    ("mhad_tri_xs_none", MHAD, "--method triangulate --protocol cross-subject --bias none"),
    ("mhad_tri_xs_root", MHAD, "--method triangulate --protocol cross-subject --bias root"),
    (
        "mhad_tri_xs_root_offsets",
        MHAD,
        "--method triangulate --protocol cross-subject --bias root --body-offsets",
    ),
    ("mhad_dd_xs_root", MHAD, "--method dualdiff --protocol cross-subject --bias root"),
    (
        "mhad_dd_xs_root_offsets",
        MHAD,
        "--method dualdiff --protocol cross-subject --bias root --body-offsets",
    ),
    (
        "mhad_dd_xs_none_offsets",
        MHAD,
        "--method dualdiff --protocol cross-subject --bias none --body-offsets",
    ),
    ("mhad_dd_raw", MHAD, "--method dualdiff --protocol raw"),
    ("sh_tri_raw", SH, "--method triangulate --protocol raw"),
    ("sh_tri_xs_mean", SH, "--method triangulate --protocol cross-subject --bias mean"),
    (
        "sh_tri_xs_none_offsets",
        SH,
        "--method triangulate --protocol cross-subject --bias none --body-offsets",
    ),
    ("sh_dd_raw", SH, "--method dualdiff --protocol raw"),
    ("sh_dd_xs_mean", SH, "--method dualdiff --protocol cross-subject --bias mean"),
    ("sh_dd_xs_none_offsets", SH, "--method dualdiff --protocol cross-subject --bias none --body-offsets"),
    ("sh_dd_xs_mean_offsets", SH, "--method dualdiff --protocol cross-subject --bias mean --body-offsets"),
]
ABLATIONS = ("base", "no_zemb", "no_basel", "noise3d", "loss2d")


def ablation_rows() -> list[tuple[str, Path, str]]:
    rows = []
    for a in ABLATIONS:
        model = ROOT / "runs" / f"ablation_{a}" / "model"
        if model.exists():
            for data, tag, extra in (
                (MHAD, "mhad", "--protocol official"),
                (SH, "sh", "--protocol cross-subject --bias mean"),
            ):
                rows.append(
                    (
                        f"ablation_{a}_{tag}",
                        data,
                        f"--method dualdiff --model {model.relative_to(ROOT)} {extra}",
                    )
                )
    return rows


def run_rows(rows: list[tuple[str, Path, str]], force: bool) -> None:
    from binopose.cli import main

    OUT.mkdir(parents=True, exist_ok=True)
    for name, data, args in rows:
        out = OUT / f"{name}.json"
        if not data.exists():
            print(f"skip {name}: {data} not found")
            continue
        if out.exists() and not force:
            continue
        rel = Path("..") / data.relative_to(ROOT.parent)
        argv = ["eval", str(rel), *shlex.split(args), "--json", str(out.relative_to(ROOT))]
        print("binopose " + " ".join(argv), flush=True)
        t0 = time.perf_counter()
        code = main(argv)
        if code != 0:
            sys.exit(f"{name} failed with exit code {code}")
        res = json.loads(out.read_text())
        res["command"] = "binopose " + " ".join(argv)
        res["seconds"] = time.perf_counter() - t0
        out.write_text(json.dumps(res, indent=2))


def main_() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--force", action="store_true", help="recompute rows whose JSON exists")
    p.add_argument("--sensitivity", action="store_true", help="also run the synthetic sensitivity study")
    args = p.parse_args()
    import os

    os.chdir(ROOT)
    run_rows(ROWS + ablation_rows(), args.force)
    if args.sensitivity:
        from sensitivity import run as run_sensitivity  # scripts/sensitivity.py

        run_sensitivity(OUT / "sensitivity.json", ROOT / "docs" / "img")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main_()
