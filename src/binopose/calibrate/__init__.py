"""Stereo calibration with OpenCV (boards, calibration, rectification): an edge package that the core
(geometry, model, diffusion) never imports."""
