"""Rotation vectors (Rodrigues, as OpenCV and the rig TOML files store rotations) and matrices."""

from __future__ import annotations

import math

import numpy as np


def rodrigues_to_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation vector (3,) -> rotation matrix (3, 3)."""
    r = np.asarray(r, dtype=np.float64)
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * Kx + (1 - math.cos(theta)) * Kx @ Kx


def matrix_to_rodrigues(R: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) -> rotation vector (3,)."""
    R = np.asarray(R, dtype=np.float64)
    cos = np.clip((np.trace(R) - 1) / 2, -1.0, 1.0)
    theta = math.acos(cos)
    if theta < 1e-12:
        return np.zeros(3)
    if math.pi - theta < 1e-6:  # near 180 degrees: axis from the symmetric part
        B = (R + np.eye(3)) / 2
        axis = np.sqrt(np.clip(np.diag(B), 0, None))
        i = int(np.argmax(axis))
        axis = B[i] / axis[i]
        return axis / np.linalg.norm(axis) * theta
    w = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]]) / (2 * math.sin(theta))
    return w * theta
