"""Which length unit a rig file's translations are in, checked against a plausible stereo baseline.

aniposelib writes calibrations in the unit of its board (often millimetres) without saying so;
Pose2Sim writes metres. A millimetre file read as metres puts the person a thousand times too far.
The rule: a unit named by the user or by the file (``[metadata] units``) is used, with a warning if the
baseline it gives is implausible; otherwise metres are taken when the baseline in metres is plausible,
else millimetres when that is, with a note; else the file is refused.
"""

from __future__ import annotations

from binopose.errors import BinoposeError, warn

UNIT_TO_MM: dict[str, float] = {"m": 1000.0, "cm": 10.0, "mm": 1.0}
#: A stereo baseline binopose believes (mm): 2 cm (a phone's lenses) to 50 m (a stadium).
PLAUSIBLE_BASELINE_MM = (20.0, 50_000.0)
UNIT_CHOICES = ("auto", *UNIT_TO_MM)


def _plausible(baseline_mm: float) -> bool:
    lo, hi = PLAUSIBLE_BASELINE_MM
    return lo <= baseline_mm <= hi


def _fmt(mm: float) -> str:
    return f"{mm / 1000:.4g} m" if mm >= 1000 else f"{mm:.4g} mm"


def check_unit(unit: str, where: str) -> str:
    if unit not in UNIT_TO_MM:
        raise BinoposeError(f"{where}: unknown translation unit {unit!r} (expected m, cm or mm)")
    return unit


def choose_unit(baseline_raw: float, declared: str | None, requested: str | None, where: str) -> str:
    """The unit of a rig file's translations.

    Args:
        baseline_raw: the stereo baseline in the file's own numbers. declared: the file's ``[metadata]
            units`` (None if absent). requested: the user's choice (None or "auto": decide here).
        where: names the file and cameras in messages.
    """
    given = requested if requested not in (None, "auto") else declared
    lo, hi = PLAUSIBLE_BASELINE_MM
    if given is not None:
        mm = baseline_raw * UNIT_TO_MM[check_unit(given, where)]
        if not _plausible(mm):
            source = "--rig-units" if requested not in (None, "auto") else "the file's [metadata] units"
            warn(f"{where}: the baseline is {_fmt(mm)} in {given} ({source}), outside {_fmt(lo)}..{_fmt(hi)}")
        return given
    for unit in ("m", "mm"):
        if _plausible(baseline_raw * UNIT_TO_MM[unit]):
            if unit != "m":
                warn(
                    f"{where} does not say its units: read as metres its baseline would be "
                    f"{_fmt(baseline_raw * 1000)} (outside {_fmt(lo)}..{_fmt(hi)}), so it is read as "
                    f"millimetres ({_fmt(baseline_raw)}); give --rig-units to choose"
                )
            return unit
    raise BinoposeError(
        f"{where} does not say its units and its baseline ({baseline_raw:.4g}) is implausible in metres "
        f"and in millimetres (expected {_fmt(lo)}..{_fmt(hi)}); give --rig-units m, cm or mm"
    )
