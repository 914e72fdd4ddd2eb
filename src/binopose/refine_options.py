"""How one call of :meth:`binopose.refiner.Refiner.refine` refines: sampling, the start level, and how
far the result may move from triangulation. The refiner itself never changes between calls."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from binopose.errors import BinoposeError

#: what refinement does with joint definitions: keep the detector's, keep them at the torso only (the
#: joints whose definitions differ between datasets; binopose.offsets.kept_joints), or convert to the
#: model's training data's
DEFINITIONS = ("keep", "keep-torso", "model")
#: how detector confidences reach the network: 1 / 0 at CONF_THRESHOLD, raw, or always 1 (as trained)
CONF_EVIDENCE = ("binary", "raw", "ones")
#: where the start level comes from when no statistics set it: the error family's own size, or the
#: input's triangulation residual (level; "input-profile": the per-joint profile as well)
LEVEL_FROM = ("family", "input", "input-profile")
#: the do-no-harm gate (binopose.guard): off, the risk estimate, its 90 % lower confidence bound, or
#: that bound with a shrinkage per joint, or one for where the pose is and one for its shape
GATES = ("off", "mean", "lcb", "lcb-joints", "lcb-split")
#: the 2D noise the gate's probes draw: independent per joint, or with a per-frame part all joints share
GATE_NOISE = ("independent", "common")
#: where the views disagree by a constant (binopose.guard.held_parts): nothing apart, or keep
#: triangulation's position and gate only the shape (hold-strict: only where the constant shows in
#: every frame)
VIEW_BIAS = ("ignore", "hold-position", "hold-strict")
CONF_THRESHOLD = 0.5
#: the most hypotheses per pose: each chunk of poses is held that many times over
MAX_HYPOTHESES = 32
#: the most sampling steps (a schedule has 100 by default; more than its own steps adds nothing)
MAX_STEPS = 1000


@dataclass(frozen=True)
class RefineOptions:
    """How one call refines (the model stays as loaded)."""

    steps: int = 1
    hypotheses: int = 1
    aggregate: str = "mean"
    start_sigma: float | None = None  # start level (None: each error family's ``default_level``)
    noise_kind: str = "auto"  # which error family the input follows: auto, stereo, per-view
    # (17,) relative 2D error size per joint (None: the family's)
    noise_profile: tuple[float, ...] | None = None
    definitions: str = "keep"  # keep the detector's joint definitions, or "model": the training data's
    gate: str = "lcb"  # shrink the correction toward triangulation by the input's own evidence (GATES)
    gate_noise: str = "common"  # the noise of the gate's probes (GATE_NOISE; rule of 18:10 UTC)
    conf_evidence: str = "ones"  # how confidences reach the network (CONF_EVIDENCE; rule of 10:33 UTC)
    level_from: str = "family"  # start level (and profile) when start_sigma is None (LEVEL_FROM)
    view_bias: str = "ignore"  # where the views disagree by a constant (VIEW_BIAS; rules of 20:02-20:20 UTC)

    def __post_init__(self) -> None:
        if not (1 <= self.hypotheses <= MAX_HYPOTHESES and 1 <= self.steps <= MAX_STEPS):
            raise BinoposeError(
                f"hypotheses must be in 1..{MAX_HYPOTHESES} (memory grows with it) and steps in "
                f"1..{MAX_STEPS}, got {self.hypotheses} and {self.steps}"
            )
        for name, allowed in (
            ("definitions", DEFINITIONS),
            ("conf_evidence", CONF_EVIDENCE),
            ("gate", GATES),
            ("gate_noise", GATE_NOISE),
            ("level_from", LEVEL_FROM),
            ("view_bias", VIEW_BIAS),
        ):
            if getattr(self, name) not in allowed:
                raise BinoposeError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if self.noise_profile is not None:  # a tuple of floats: frozen and exact (float64)
            object.__setattr__(self, "noise_profile", tuple(float(x) for x in self.noise_profile))


_SETTINGS = {"chunk", "net_chunk", "device", "precision", "compile", "distributed"}


def split_settings(settings: dict) -> tuple[RefineOptions, dict]:
    """Keyword arguments -> (:class:`RefineOptions` from its fields and ``options``, the refiner's own
    settings: device, precision, compile, chunk, net_chunk, distributed)."""
    names = {f.name for f in dataclasses.fields(RefineOptions)}
    unknown = set(settings) - names - _SETTINGS - {"options"}
    if unknown:
        raise TypeError(f"unknown refiner setting(s) {sorted(unknown)}")
    opts = settings.get("options") or RefineOptions()
    opts = dataclasses.replace(opts, **{k: v for k, v in settings.items() if k in names})
    return opts, {k: v for k, v in settings.items() if k in _SETTINGS}
