"""The ``binopose`` command: one module per subcommand, each with ``add_arguments`` and ``run``.

Bad input raises :class:`binopose.BinoposeError`; here it becomes one line on stderr and exit code 2.
A file or folder that cannot be written (:class:`binopose.errors.OutputError`, or any other OSError)
is one line too, naming the path: exit code 2 when the path itself is wrong (a folder, under a regular
file), else 1 (full disk, read-only folder or file system). Running out of memory is one line, exit 1.
No failure prints a traceback or exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable

from binopose import __version__
from binopose.errors import BinoposeError, BinoposeWarning, OutputError

#: subcommand -> (module under binopose.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "eval": ("evaluate", "evaluate a method on a *_stereo_test.npz benchmark file"),
    "train": ("train", "train a Dual-Diffusion refiner from 3D pose corpora (virtual stereo rigs)"),
    "calibrate": ("calibrate", "checkerboard or ChArUco pairs/videos of two cameras -> rig TOML"),
    "run": ("run", "two videos or image folders + a rig file -> 3D poses, files and pictures"),
    "refine": ("refine", "2D keypoints of both views from a file + a rig file -> 3D poses"),
    "live": ("live", "two cameras, stream URLs or videos + a rig file -> live 3D poses (file, UDP)"),
    "demo": ("demo", "run the whole pipeline on the two-camera clip shipped with binopose"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other usage error
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="binopose",
        description="Stereo (two-camera) 3D human pose: calibrate, detect, triangulate, refine with Dual-Diffusion, "
        "export, evaluate.",
        epilog="Run 'binopose COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"binopose {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(f"binopose.cli.{module}")
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _one_line_warnings(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints binopose's own warnings as one line on stderr."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        if issubclass(category, BinoposeWarning):
            sys.stderr.write(f"binopose {command}: warning: {message}\n")
        else:
            default(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(args.command)
            warnings.simplefilter("always", BinoposeWarning)
            return int(args._run(args) or 0)
    except BinoposeError as e:
        sys.stderr.write(f"binopose {args.command}: error: {e}\n")
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OutputError as e:
        sys.stderr.write(f"binopose {args.command}: error: {e}\n")
        return 2 if e.usage else 1
    except OSError as e:  # not through the atomic writer: a folder created, a video written or read
        where = f"{e.filename}: " if e.filename else ""
        sys.stderr.write(f"binopose {args.command}: error: {where}{e.strerror or e}\n")
        return 1
    except MemoryError:
        sys.stderr.write(f"binopose {args.command}: error: out of memory\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"binopose {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
