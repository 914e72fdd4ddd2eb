"""Evaluate a method on a *_stereo_test.npz file: prints a table (overall, per subject, per action),
optionally writes JSON. Protocols: raw (2D prediction and cameras only), official (may use the file's
test-set 2D error statistics; never a headline number), cross-subject (statistics fitted on the other
subjects only)."""

from __future__ import annotations

import argparse

from binopose.cli.options import add_refiner_options, refiner_settings
from binopose.cli.sharding import add_chunk, chunk_setting
from binopose.data.benchmark import PROTOCOLS, load_benchmark
from binopose.distributed import is_main, process_group
from binopose.errors import BinoposeError
from binopose.evaluate import (
    BIAS_MODES,
    ROOT_MODES,
    default_bias,
    dualdiff_method,
    evaluate,
    triangulation_method,
    with_body_offsets,
    with_calibrated_bias,
)
from binopose.io_utils import atomic_write_json, check_output
from binopose.metrics import format_table
from binopose.stream import heap
from binopose.stream.evaluate import evaluate_file

METHODS = ("triangulate", "dualdiff")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA.npz", help="benchmark file in the *_stereo_test.npz format")
    p.add_argument(
        "--method",
        default="triangulate",
        help=f"method to evaluate: {', '.join(METHODS)} (default: triangulate)",
    )
    p.add_argument("--protocol", default="raw", help=f"{', '.join(PROTOCOLS)} (default: raw)")
    p.add_argument(
        "--bias",
        default=None,
        choices=BIAS_MODES,
        help="2D bias to subtract when the protocol provides one: mean (all joints), root (pelvis only), none, "
        "or calibrated (the input shift that leaves the method's outputs without mean 2D error on the frames "
        "the protocol allows fitting on). Default: mean, except dualdiff under cross-subject: root (the "
        "model has learnt the biases of the detector it trained on, and other subjects' per-joint biases "
        "need not transfer). Ignored under raw",
    )
    p.add_argument(
        "--root",
        default="detected",
        choices=ROOT_MODES,
        help="triangulate: the pelvis as detected, or from the hips' midpoint (default: detected; a "
        "dualdiff model's own setting decides for it)",
    )
    add_refiner_options(p)
    add_chunk(p)
    g = p.add_argument_group("dualdiff options")
    g.add_argument(
        "--level",
        default="auto",
        choices=("matched", "calibrated", "auto"),
        help="start level: matched to the allowed 2D error size, or calibrated by MPJPE on the frames the "
        "protocol allows fitting on (cross-subject); auto = calibrated where allowed, else matched (default)",
    )
    g.add_argument(
        "--no-match-noise",
        action="store_true",
        help="do not set the start level from the protocol's 2D error statistics",
    )
    p.add_argument(
        "--body-offsets",
        action="store_true",
        help="add joint-definition offsets (body frame) fitted on the frames the protocol allows (cross-subject only)",
    )
    p.add_argument(
        "--subjects",
        metavar="S",
        nargs="+",
        help="score only these subjects' frames (a held-out subject of a development file); the protocol "
        "still fits on the frames it allows (cross-subject: the other subjects')",
    )
    p.add_argument("--json", metavar="OUT.json", help="write all metrics to this JSON file")


def run(args: argparse.Namespace) -> int:
    with process_group(args.device) as active:  # under torchrun: the ranks share the refiner's work
        return _run(args, active)


def _run(args: argparse.Namespace, active: bool) -> int:
    if args.protocol not in PROTOCOLS:
        raise BinoposeError(f"unknown protocol {args.protocol!r} (expected one of: {', '.join(PROTOCOLS)})")
    if args.method not in METHODS:
        raise BinoposeError(f"unknown method {args.method!r} (expected one of: {', '.join(METHODS)})")
    if args.json:
        check_output(args.json, {"DATA.npz": args.data, "--model": args.model})
    if args.bias is None:
        args.bias = default_bias(args.method, args.protocol)
    inner_bias = "none" if args.bias == "calibrated" else args.bias
    subjects = None if args.subjects is None else tuple(args.subjects)
    if args.method == "dualdiff":
        from binopose.refiner import Refiner

        refiner = Refiner.load(
            args.model, **refiner_settings(args), **chunk_setting(args), distributed=active
        )
        method = dualdiff_method(refiner, inner_bias, match_noise=not args.no_match_noise, level=args.level)
    else:
        method = triangulation_method(inner_bias, args.root)
    if args.bias == "calibrated" and args.protocol != "raw":
        method = with_calibrated_bias(method)
    if args.body_offsets:
        if args.protocol != "cross-subject":
            raise BinoposeError("--body-offsets is only allowed under --protocol cross-subject")
        method = with_body_offsets(method)
    if active:  # under torchrun: the whole file in every rank, the refiner's network passes shared
        result, _ = evaluate(load_benchmark(args.data), method, args.protocol, args.method, subjects)
    else:  # a chunk at a time; chunk-sized arrays mapped, not fragmenting the heap (memory flat in N)
        heap.limit_heap()
        result = evaluate_file(args.data, method, args.protocol, args.method, subjects=subjects)
    result["body_offsets"] = bool(args.body_offsets)
    if args.method == "dualdiff":
        result["options"] = {
            k: getattr(args, k)
            for k in ("model", "steps", "hypotheses", "aggregate", "start_sigma", "noise_kind", "level")
        } | {"match_noise": not args.no_match_noise}
    result["bias"] = args.bias if args.protocol != "raw" else "none"
    if args.method == "triangulate":
        result["root"] = args.root
    if not is_main():
        return 0
    label = " (test-set 2D statistics)" if args.protocol == "official" else ""
    print(f"{args.method} on {args.data}, protocol {args.protocol}{label}, {result['frames']} frames")
    print(format_table(result))
    if args.json:
        atomic_write_json(args.json, result)
        print(f"wrote {args.json}")
    return 0
