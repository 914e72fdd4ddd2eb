"""Calibration from the person and automatic synchronisation: two cameras and nothing else.

OpenCV is used here (essential matrix, fundamental matrix), never in ``binopose.geometry``'s core.
"""

from binopose.selfcal.solve import SelfCalConfig, SelfCalRefused, SelfCalResult, calibrate_from_keypoints

__all__ = ["SelfCalConfig", "SelfCalRefused", "SelfCalResult", "calibrate_from_keypoints"]
