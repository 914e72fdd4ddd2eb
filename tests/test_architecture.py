"""The layers of docs/ARCHITECTURE.md, held by CI: every module under src/binopose is parsed (ast, imports
inside functions included) and no module may import what its part never imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("cv2", "mediapipe", "matplotlib")
EDGES = (
    "binopose.cli",
    "binopose.video",
    "binopose.live",
    "binopose.calibrate",
    "binopose.selfcal",
    "binopose.viz",
    "binopose.training",
)

#: part (a module or package prefix) -> what it never imports (module prefixes)
NEVER: dict[str, tuple[str, ...]] = {
    "binopose.geometry": (
        *HEAVY,
        *EDGES,
        "binopose.model",
        "binopose.diffusion",
        "binopose.data",
        "binopose.refiner",
    ),
    "binopose.model": (
        *HEAVY,
        *EDGES,
        "binopose.diffusion",
        "binopose.data",
        "binopose.bundle",
        "binopose.refiner",
    ),
    "binopose.diffusion": (*HEAVY, *EDGES, "binopose.model", "binopose.bundle", "binopose.refiner"),
    "binopose.data": (
        *HEAVY,
        *EDGES,
        "binopose.model",
        "binopose.diffusion",
        "binopose.bundle",
        "binopose.refiner",
    ),
    "binopose.skeleton": (*HEAVY, *EDGES),
    "binopose.smoothing": (*HEAVY, *EDGES),
    "binopose.distributed": (*HEAVY, *EDGES, "binopose.model", "binopose.diffusion", "binopose.data"),
    "binopose.bundle": (*HEAVY, *EDGES, "binopose.refiner"),
    "binopose.refiner": (*HEAVY, *EDGES),
    "binopose.evaluate": (*HEAVY, *EDGES),
    "binopose.metrics": (*HEAVY, *EDGES),
    "binopose.training": ("cv2", "mediapipe", "binopose.cli", "binopose.video", "binopose.calibrate"),
    "binopose.calibrate": (
        "mediapipe",
        "binopose.cli",
        "binopose.model",
        "binopose.diffusion",
        "binopose.training",
    ),
    "binopose.video": (
        "binopose.cli",
        "binopose.training",
        "binopose.calibrate",
        "binopose.selfcal",
        "binopose.live",
    ),
    "binopose.formats": (
        *HEAVY,
        "binopose.cli",
        "binopose.video",
        "binopose.calibrate",
        "binopose.training",
        "binopose.model",
        "binopose.diffusion",
        "binopose.refiner",
    ),
    # calibration from the person and synchronisation: OpenCV, and the video edge for detection
    "binopose.selfcal": (
        "binopose.cli",
        "binopose.model",
        "binopose.diffusion",
        "binopose.training",
        "binopose.calibrate",
        "matplotlib",
    ),
    "binopose.live": ("binopose.cli", "binopose.training", "binopose.calibrate"),
}
#: nothing outside the CLI (and `python -m binopose`) imports the CLI
NOT_CLI = ("binopose.cli",)


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, src: Path = SRC) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = module_name(path, src)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)  # "from binopose import cli"
    return out


def violations(src: Path = SRC) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.py")):
        name = module_name(path, src)
        rules = [never for part, never in NEVER.items() if name == part or name.startswith(part + ".")]
        if not name.startswith(("binopose.cli", "binopose.__main__")):  # the entry points
            rules.append(NOT_CLI)
        for imported in sorted(imports(path, src)):
            for never in rules:
                bad = [n for n in never if imported == n or imported.startswith(n + ".")]
                if bad:
                    found.append(f"{name} imports {imported} (never: {bad[0]})")
                    break
    return found


def test_no_module_breaks_a_never_rule():
    assert violations() == []


def test_the_rule_test_can_fail(tmp_path):
    """A module that breaks a rule is found: the check is not vacuous."""
    pkg = tmp_path / "binopose" / "model"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text(
        "def f():\n    from binopose.diffusion.schedule import Schedule\n    import cv2\n"
    )
    (tmp_path / "binopose" / "skeleton.py").write_text("from .cli import main\n")
    assert violations(tmp_path) == [
        "binopose.model.bad imports binopose.diffusion.schedule (never: binopose.diffusion)",
        "binopose.model.bad imports binopose.diffusion.schedule.Schedule (never: binopose.diffusion)",
        "binopose.model.bad imports cv2 (never: cv2)",
        "binopose.skeleton imports binopose.cli (never: binopose.cli)",
        "binopose.skeleton imports binopose.cli.main (never: binopose.cli)",
    ]


@pytest.mark.parametrize("command", ["eval", "refine", "run", "demo", "live"])
def test_every_refining_subcommand_takes_the_refiner_options(command):
    from binopose.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    flags = {s for a in sub._actions for s in a.option_strings}
    for flag in (
        "--model",
        "--device",
        "--compile",
        "--steps",
        "--hypotheses",
        "--start-sigma",
        "--noise-kind",
    ):
        assert flag in flags, (command, flag)
