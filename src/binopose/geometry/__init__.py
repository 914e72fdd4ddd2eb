"""Pinhole cameras, stereo rigs, projection and triangulation (batched torch, any device and float dtype)."""

from binopose.geometry.camera import distort_points, invert_K, project, projection_matrix, undistort_points
from binopose.geometry.triangulation import reprojection_error, triangulate, triangulate_rectified

__all__ = [
    "distort_points",
    "invert_K",
    "project",
    "projection_matrix",
    "reprojection_error",
    "triangulate",
    "triangulate_rectified",
    "undistort_points",
]
