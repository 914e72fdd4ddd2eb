"""Does the default refinement ever make poses worse than triangulation of the same input? (issue 15)

    .venv/bin/python experiments/do_no_harm.py [--out experiments/results/do_no_harm.json]

For MHAD (all frames) and the Stacked-Hourglass development file (held-out subject S8 only), under the
raw, cross-subject and official protocols, scores triangulation and four refiners on the same 2D input
(the refiner's default bias for that protocol, ``binopose.evaluate.default_bias``; start level and
noise profile as ``binopose eval`` sets them): ``v5`` (the network's output as shipped until
2026-12-03: model definitions, no gate), ``keep`` (definitions kept,
:func:`binopose.offsets.keep_definitions`), ``gate`` (keep + the Stein-risk gate,
:mod:`binopose.guard`) and ``gate-lcb`` (the gate at the 90 % lower bound of the risk reduction). All
four come from one network pass per fold (the two gates share their probes). The rule these numbers
decide was committed before the code (git log: "Pre-registered 2026-12-03 09:14 / 09:16 / 10:33 UTC").
``torso-lcb``: definitions kept at the torso only (``definitions="keep-torso"``,
:func:`binopose.offsets.kept_joints`) and the lcb gate, the candidate of the rule of 17:38 UTC
(``experiments/keep_torso.py``). ``joints-lcb``: definitions kept and the lcb gate with a shrinkage per
joint (``gate="lcb-joints"``), the candidate of the rule of 17:43 UTC (``experiments/joint_gate.py``).
``common-lcb``: the lcb gate with probes that have a per-frame part all joints share
(``gate_noise="common"``), the candidate of the rule of 18:10 UTC (``experiments/common_gate.py``).
``split-lcb``: that gate with one shrinkage for the correction's per-frame mean over the joints and one
for the rest (``gate="lcb-split"``), the candidate of the rule of 18:23 UTC (``experiments/split_gate.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from binopose.data.benchmark import load_benchmark, protocol_folds
from binopose.evaluate import default_bias, dualdiff_inputs, triangulation_method
from binopose.geometry import triangulate
from binopose.guard import LCB_Z, gate
from binopose.io_utils import atomic_write_json
from binopose.metrics import pose_metrics
from binopose.offsets import keep_definitions, kept_joints
from binopose.refiner import Refiner

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FILES = {
    "mhad": (DATA / "mhad_stereo_test.npz", None),
    "sh_s8": (DATA / "h36m_sh_train" / "h36m_sh_stereo_train.npz", "S8"),
}
PROTOCOLS = ("raw", "cross-subject", "official")
VARIANTS = ("v5", "keep", "gate", "gate-lcb", "torso-lcb", "joints-lcb", "common-lcb", "split-lcb")
METRICS = ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm")


def folds_for(bench, protocol: str, subject: str | None) -> list:
    """(test frames, stats) pairs: every fold, or only the held-out subject's frames."""
    out = []
    for f in protocol_folds(bench, protocol):
        idx = f.test_index if subject is None else f.test_index[bench.subject[f.test_index] == subject]
        if len(idx):
            out.append((idx, f.stats))
    return out


def variants(refiner: Refiner, bench, stats, bias: str) -> tuple[dict[str, np.ndarray], dict]:
    """Every variant's (n, 17, 3) poses for one fold, from one network pass, and the gates' reports."""
    kp, P, opts = dualdiff_inputs(refiner, bench, stats, bias, True, "auto")
    u = torch.from_numpy(kp)
    T = triangulate(u, P)
    F = refiner.network_pass(u, P, None, opts)
    out, reports = {"v5": F.numpy()}, {}
    for definitions, gates in (
        (
            "keep",
            (
                ("gate", 0.0, "all", False),
                ("gate-lcb", LCB_Z, "all", False),
                ("joints-lcb", LCB_Z, "joints", False),
                ("common-lcb", LCB_Z, "all", True),
                ("split-lcb", LCB_Z, "split", True),
            ),
        ),
        ("keep-torso", (("torso-lcb", LCB_Z, "all", False),)),
    ):
        joints = kept_joints(definitions)
        kept = torch.from_numpy(keep_definitions(F.numpy(), T.numpy(), joints=joints))

        def probe(uu: torch.Tensor, T_uu: torch.Tensor, joints=joints) -> torch.Tensor:
            Fp = refiner.network_pass(uu, P, None, opts)
            return torch.from_numpy(keep_definitions(Fp.numpy(), T_uu.numpy(), joints=joints))

        if definitions == "keep":
            out["keep"] = kept.numpy()
        for name, z, parts, common in gates:  # the same seed: the same probes
            poses, report = gate(probe, u, P, T, kept, z=z, parts=parts, common=common)
            out[name], reports[name] = poses.numpy(), report.__dict__
    return out, reports


def _metrics(pred: np.ndarray, gt: np.ndarray) -> dict:
    m = pose_metrics(pred, gt)
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
            t0 = time.perf_counter()
            folds = folds_for(bench, protocol, subject)
            bias = default_bias("dualdiff", protocol)
            idx = np.concatenate([i for i, _ in folds])
            tri_m = triangulation_method(bias=bias)
            tri = np.concatenate([tri_m(bench.subset(i).blind(), st) for i, st in folds])
            runs = [variants(base, bench.subset(i).blind(), st, bias) for i, st in folds]
            gt = bench.kp3d_gt[idx]
            row = {"bias": bias, "frames": len(idx), "triangulate": _metrics(tri, gt)}
            for v in VARIANTS:
                row[v] = _metrics(np.concatenate([r[0][v] for r in runs]), gt)
            row["gates"] = [r[1] for r in runs]
            row["seconds"] = round(time.perf_counter() - t0, 1)
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


LABELS = {
    "triangulate": "triangulation",
    "v5": "v5 (model definitions, no gate)",
    "keep": "definitions kept, no gate",
    "gate": "kept + gate (mean)",
    "gate-lcb": "kept + gate (lcb), independent probes",
    "torso-lcb": "torso kept + gate (lcb)",
    "joints-lcb": "kept + gate per joint (lcb)",
    "common-lcb": "**default**: kept + gate (lcb), common probes",
    "split-lcb": "kept + gate (lcb) for position and shape apart, common probes",
}


def markdown(table: dict) -> str:
    """docs/RESULTS.md's table: one row per file/protocol cell, MPJPE / rel / PA per variant; a refiner's
    cell is in italics where any of its three metrics is worse than triangulation's."""
    names = list(LABELS)
    lines = [
        "| file / protocol | frames | " + " | ".join(LABELS.values()) + " |",
        "|---|---:|" + "---|" * len(names),
    ]
    for cell, row in table.items():
        tri = row["triangulate"]
        vals = []
        for v in names:
            text = " / ".join(f"{row[v][m]:.2f}" for m in METRICS)
            worse = v != "triangulate" and any(row[v][m] > tri[m] for m in METRICS)
            vals.append(f"*{text}*" if worse else text)
        lines.append(f"| {cell} | {row['frames']} | " + " | ".join(vals) + " |")
    return "\n".join(lines)


def plot(table: dict, path: Path) -> None:
    """Bar chart of MPJPE per cell and variant (docs/img/do_no_harm.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells, names = list(table), list(LABELS)
    fig, ax = plt.subplots(figsize=(10, 4))
    w = 0.8 / len(names)
    for k, v in enumerate(names):
        xs = np.arange(len(cells)) + (k - (len(names) - 1) / 2) * w
        ax.bar(xs, [table[c][v]["mpjpe_mm"] for c in cells], w, label=LABELS[v].replace("*", ""))
    ax.set_xticks(np.arange(len(cells)), cells, rotation=15)
    ax.set_ylabel("MPJPE (mm)")
    ax.set_title("Refinement against triangulation of the same input (shipped model)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def commands(cell: str) -> dict[str, list[str]]:
    """The ``binopose eval`` command of a cell's triangulation and default refinement (run from the
    repository root): the same input, the dualdiff default bias for both."""
    name, protocol = cell.split("/")
    path, subject = FILES[name]
    common = [f"../{path.relative_to(ROOT.parent).as_posix()}", "--protocol", protocol]
    common += ["--subjects", subject] if subject else []
    bias = default_bias("dualdiff", protocol)
    tri = ["binopose", "eval", *common, "--method", "triangulate"] + (
        ["--bias", bias] if protocol != "raw" else []
    )
    return {"triangulate": tri, "default": ["binopose", "eval", *common, "--method", "dualdiff"]}


def check_cli(table: dict, out: Path) -> dict:
    """Run every cell's two commands through the CLI and compare with ``table``'s triangulation and
    default columns (to the printed 0.01 mm)."""
    import subprocess

    checks = {}
    for cell in table:
        for arm, argv in commands(cell).items():
            js = out.parent / f"do_no_harm_cli_{cell.replace('/', '_')}_{arm}.json"
            cmd = [str(ROOT / ".venv" / "bin" / argv[0]), *argv[1:], "--json", str(js)]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            got = {k: round(v, 2) for k, v in json.loads(js.read_text()).items() if k in METRICS}
            js.unlink()
            want = table[cell]["triangulate" if arm == "triangulate" else "common-lcb"]
            checks[f"{cell}:{arm}"] = {
                "command": " ".join(argv),
                "cli": got,
                "table": want,
                "same": got == want,
            }
            print(cell, arm, got, want, flush=True)
    atomic_write_json(out, checks)
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "do_no_harm.json"))
    ap.add_argument("--check-cli", action="store_true", help="only run each cell's binopose eval commands")
    args = ap.parse_args()
    if args.check_cli:
        table = json.loads(Path(args.out).read_text())["table"]
        check_cli(table, ROOT / "experiments" / "results" / "do_no_harm_cli.json")
        return
    table = run()
    summary = {v: harmed(table, v) for v in VARIANTS}
    for v, cells in summary.items():
        mean = np.mean([row[v]["mpjpe_mm"] for row in table.values()])
        print(f"{v}: {len(cells)} harmed cells, mean MPJPE {mean:.2f}: {cells}")
    atomic_write_json(args.out, {"table": table, "harmed": summary})
    plot(table, ROOT / "docs" / "img" / "do_no_harm.png")


if __name__ == "__main__":
    main()
