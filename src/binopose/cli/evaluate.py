"""Evaluate a method on a *_stereo_test.npz file: prints a table (overall, per subject, per action),
optionally writes JSON. Protocols: raw (2D prediction and cameras only), official (may use the file's
test-set 2D error statistics; never a headline number), cross-subject (statistics fitted on the other
subjects only)."""

from __future__ import annotations

import argparse

from binopose.data.benchmark import PROTOCOLS, load_benchmark
from binopose.errors import BinoposeError
from binopose.evaluate import BIAS_MODES, evaluate, triangulation_method
from binopose.io_utils import atomic_write_json
from binopose.metrics import format_table

METHODS = ("triangulate",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA.npz", help="benchmark file in the *_stereo_test.npz format")
    p.add_argument("--method", default="triangulate", help=f"method to evaluate: {', '.join(METHODS)} (default: triangulate)")
    p.add_argument("--protocol", default="raw", help=f"{', '.join(PROTOCOLS)} (default: raw)")
    p.add_argument(
        "--bias",
        default="mean",
        choices=BIAS_MODES,
        help="2D bias to subtract when the protocol provides one: mean (all joints), root (pelvis only), none "
        "(default: mean; ignored under raw)",
    )
    p.add_argument("--json", metavar="OUT.json", help="write all metrics to this JSON file")


def run(args: argparse.Namespace) -> int:
    if args.protocol not in PROTOCOLS:
        raise BinoposeError(f"unknown protocol {args.protocol!r} (expected one of: {', '.join(PROTOCOLS)})")
    if args.method not in METHODS:
        raise BinoposeError(f"unknown method {args.method!r} (expected one of: {', '.join(METHODS)})")
    bench = load_benchmark(args.data)
    result, _ = evaluate(bench, triangulation_method(args.bias), args.protocol, name=args.method)
    result["bias"] = args.bias if args.protocol != "raw" else "none"
    label = " (test-set 2D statistics)" if args.protocol == "official" else ""
    print(f"{args.method} on {args.data}, protocol {args.protocol}{label}, {result['frames']} frames")
    print(format_table(result))
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0
