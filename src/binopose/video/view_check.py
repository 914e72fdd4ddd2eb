"""Does a recording's own 2D say that the rig is off? The two views of a well-calibrated pair agree up
to the detector's noise: the reprojection residual of their triangulation averages out to about zero
over a recording. A residual that every frame and joint shares is a calibration error (or views that
are not the rig's, or a detector that places joints differently in the two views). Triangulation then
carries a bias that neither it nor the refiner's do-no-harm gate can see (the gate measures noise about
that mean; docs/RESULTS.md, "Synthetic detectors": with a large calibration error the refined poses
are better shaped but can be placed worse). Only the part across the epipolar lines shows; a shift
along them (a disparity error) shows nowhere, so a quiet check does not prove a good calibration.
"""

from __future__ import annotations

import torch

from binopose.errors import warn
from binopose.geometry.camera import project
from binopose.guard import MIN_CONF  # keypoints less sure than this stay out of residual statistics

#: px: a constant disagreement of the views (per view, the mean residual over frames and joints) above
#: which the calibration is called into question. Measured: the Stacked-Hourglass development file
#: 1.0 / 0.8 px, MHAD 0.0; the Pose2Sim capture (calibration known to be off by 12-15 px in cam01 and
#: cam03), its six pairs with the capture's own keypoints 0.2-11.9 px (cam01-cam03 10.6 / 11.9), and
#: the demo pair (cam03-cam04) as `binopose demo` detects and lifts it 4.0 / 4.0 px: below the line.
DISAGREEMENT_WARN_PX = 5.0
#: frames a recording needs before its disagreement is judged (a few frames' mean is mostly noise)
MIN_FRAMES = 30


class ViewDisagreement:
    """The mean reprojection residual (px) of each view over every frame and joint added, in pieces (a
    recording's chunks) or at once; :meth:`check` warns once when it is large."""

    def __init__(self) -> None:
        self.total = torch.zeros(2, 2, dtype=torch.float64)
        self.count = torch.zeros(2, dtype=torch.float64)
        self.frames = 0

    def add(
        self, uv: torch.Tensor, X: torch.Tensor, P: torch.Tensor, conf: torch.Tensor | None = None
    ) -> None:
        """Frames: ideal pixels uv (n, 2, 17, 2), their triangulation X (n, 17, 3) mm, cameras P
        ((2, 3, 4) or (n, 2, 3, 4)), confidences (n, 2, 17) or None."""
        r = uv.double() - project(X.double(), P.double())
        ok = torch.isfinite(r).all(-1) & torch.isfinite(X).all(-1)[:, None, :]
        if conf is not None:
            ok &= conf >= MIN_CONF
        self.total += torch.where(ok[..., None], r, 0.0).sum((0, 2))
        self.count += ok.sum((0, 2)).double()
        self.frames += int(ok.any(-1).any(-1).sum())

    def px(self) -> list[float] | None:
        """Per view, the length of the mean residual (px); None before any keypoint was seen."""
        if not bool((self.count > 0).all()):
            return None
        return (self.total / self.count[:, None]).norm(dim=-1).tolist()

    def check(self) -> list[float] | None:
        """Warn when the recording has :data:`MIN_FRAMES` frames and a view's constant disagreement
        exceeds :data:`DISAGREEMENT_WARN_PX`; returns :meth:`px`."""
        px = self.px()
        if px is not None and self.frames >= MIN_FRAMES and max(px) > DISAGREEMENT_WARN_PX:
            warn(
                f"the two views disagree by a constant {px[0]:.1f} px (left) and {px[1]:.1f} px (right) in "
                "every frame: the rig's calibration is probably off by about that much (or the videos are "
                "not the rig's); 3D positions then carry a bias that refinement cannot see: recalibrate "
                "(docs/CALIBRATION.md)"
            )
        return px
