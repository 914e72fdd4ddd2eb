"""Options shared by the commands that read a rig file and write poses: ``--rig-units``, ``--frame``."""

from __future__ import annotations

import argparse

from binopose.geometry.transforms import FRAMES
from binopose.geometry.units import UNIT_CHOICES


def add_rig_units(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rig-units",
        default="auto",
        choices=UNIT_CHOICES,
        help="unit of the rig file's translations (default auto: the file's [metadata] units, else metres, "
        "or millimetres with a note when only that gives a plausible 2 cm..50 m baseline)",
    )


def add_frame(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--frame",
        default="upright",
        choices=FRAMES,
        help="coordinate frame of the TRC file (OpenSim): upright = the left camera's turned y-up (default); "
        "gravity = y along the floor's normal fitted to the ankles, floor at y = 0; camera = as is",
    )
