"""Options shared by every subcommand that refines (eval, refine, run, demo): the model, where it runs
and how each call samples. One definition, so that the subcommands cannot drift apart."""

from __future__ import annotations

import argparse

from binopose.data.presets import FAMILY_CHOICES
from binopose.errors import BinoposeError
from binopose.refine_options import CONF_EVIDENCE, DEFINITIONS, GATE_NOISE, GATES, VIEW_BIAS, RefineOptions

#: RefineOptions fields set from the command line (``binopose.refiner.RefineOptions``)
SAMPLING = (
    "steps",
    "hypotheses",
    "aggregate",
    "start_sigma",
    "noise_kind",
    "definitions",
    "conf_evidence",
    "gate",
    "gate_noise",
    "view_bias",
)


def add_refiner_options(p: argparse.ArgumentParser) -> None:
    """Add --model, --device, --compile and the sampling options (a "refiner options" group)."""
    g = p.add_argument_group("refiner options")
    g.add_argument(
        "--model", metavar="PATH", help="model folder or .safetensors file (default: the shipped one)"
    )
    g.add_argument(
        "--device", default="cpu", help="cpu, cuda, cuda:N or auto: where the refiner runs (default cpu)"
    )
    g.add_argument(
        "--compile", action="store_true", help="torch.compile the network (large inputs; ~20 s to start)"
    )
    g.add_argument("--steps", type=int, default=1, metavar="K", help="sampling steps (default: 1)")
    g.add_argument(
        "--hypotheses", type=int, default=1, metavar="H", help="hypotheses per pose, 1 to 32 (default: 1)"
    )
    g.add_argument(
        "--aggregate", default="mean", choices=("mean", "reprojection"), help="how to merge hypotheses"
    )
    g.add_argument(
        "--start-sigma",
        type=float,
        default=None,
        metavar="S",
        help="noise level to start from when nothing else sets it (default: the model's level for the "
        "input's error family; the shipped model: 1 per-view, 0.2 stereo-aware)",
    )
    g.add_argument(
        "--noise-kind",
        default="auto",
        choices=FAMILY_CHOICES,
        help="2D error family of the input (default: auto, from the reprojection residual)",
    )
    g.add_argument(
        "--definitions",
        default=RefineOptions.definitions,
        choices=DEFINITIONS,
        help="keep the detector's joint definitions (default), or convert to the model's training "
        "definitions (Human3.6M-like; for benchmarks whose ground truth uses them); keep-torso (tried, not "
        "the default: it lets the network's systematic moves of ankles, knees, wrists and elbows through)",
    )
    g.add_argument(
        "--gate",
        default=RefineOptions.gate,
        choices=GATES,
        help="how far the network's correction is taken: shrunk toward triangulation by the input's own "
        "evidence (lcb: only as far as that evidence is significant; mean: as far as it estimates; off: "
        "all of it; lcb-joints: lcb per joint, lcb-split: lcb for the pose's position and shape apart, both "
        "tried and not the default). Default %(default)s; docs/RESULTS.md, "
        "'Do no harm'",
    )
    g.add_argument(
        "--gate-noise",
        default=RefineOptions.gate_noise,
        choices=GATE_NOISE,
        help="the 2D noise the gate's random probes are drawn from: with a per-frame part all joints of a "
        "view share (common, the default), or independent per joint (the default until 2026-12-03)",
    )
    g.add_argument(
        "--view-bias",
        default=RefineOptions.view_bias,
        choices=VIEW_BIAS,
        help="where the two views disagree by a constant (a calibration error, above 1 %% of the person's "
        "size): gate as everywhere (ignore, the default), or keep triangulation's position and gate only "
        "the pose's shape (hold-position; hold-strict: only where the constant shows in every frame; both "
        "tried and not the default: fewer large harms, more small ones, much gain given up; "
        "docs/RESULTS.md, 'Synthetic detectors')",
    )
    g.add_argument(
        "--conf-evidence",
        default=RefineOptions.conf_evidence,
        choices=CONF_EVIDENCE,
        help="how detector confidences reach the network (it was trained on 1): 1/0 at 0.5, raw, or ones "
        "(triangulation always uses them as weights; default %(default)s)",
    )


def refiner_settings(args: argparse.Namespace) -> dict:
    """Checked keyword arguments for ``Refiner.load`` (without the model path) from the parsed options."""
    if args.steps < 1 or args.hypotheses < 1:
        raise BinoposeError("--steps and --hypotheses must be at least 1")
    if args.start_sigma is not None and not 0 < args.start_sigma < 100:
        raise BinoposeError(f"--start-sigma must be a positive noise level, got {args.start_sigma}")
    return {
        "device": args.device,
        "compile": args.compile,
        **{k: getattr(args, k) for k in SAMPLING},
    }


def lift_refiner_fields(args: argparse.Namespace) -> dict:
    """The refiner fields of ``binopose.video.pipeline.LiftConfig`` from the parsed options."""
    settings = refiner_settings(args)
    device, compile_ = settings.pop("device"), settings.pop("compile")
    return {"model": args.model, "device": device, "compile": compile_, "options": settings}
