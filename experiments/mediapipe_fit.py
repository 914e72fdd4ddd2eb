"""Statistics of leave-one-out 2D residuals: biases, per-frame offsets, heavy tails, confidence.

Every function takes residuals ``r`` (C, F, J, 2) in units of the person's size in the image
(``binopose.data.noise.pose_scale_px``) and returns plain arrays or dicts.
"""

from __future__ import annotations

import math

import numpy as np

from binopose.skeleton import LEFT_HIP, RIGHT_HIP

PELVIS, THORAX = 6, 8
CONF_BINS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0001)
TAIL_FACTOR = 4.0  # width of the contaminated Gaussian's wide component where nothing is fitted


def biases(r: np.ndarray, kp: np.ndarray) -> dict:
    """Per camera and joint means; the camera's constant (all joints) part; per-joint bias in image
    axes and in a body frame (x: toward the subject's left, y: toward the head) with the camera's
    constant removed.

    Args:
        r: (C, F, J, 2) residuals. kp: (C, F, J, 2) detections (pixels), for the body frame.
    """
    per_cam = np.nanmean(r, axis=1)  # (C, J, 2)
    cam_const = per_cam.mean(1)  # (C, 2)
    joint = (per_cam - cam_const[:, None]).mean(0)  # (J, 2)
    up = kp[:, :, THORAX] - kp[:, :, PELVIS]
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    left = np.stack([-up[..., 1], up[..., 0]], -1)  # perpendicular to the torso axis
    side = np.sign(np.sum(left * (kp[:, :, LEFT_HIP] - kp[:, :, RIGHT_HIP]), -1, keepdims=True))
    left = left * side
    rr = r - cam_const[:, None, None]
    body = np.stack([np.sum(rr * left[:, :, None], -1), np.sum(rr * up[:, :, None], -1)], -1)
    return {
        "per_camera": per_cam,
        "camera_constant": cam_const,
        "joint_image": joint,
        "joint_body": np.nanmean(body, axis=(0, 1)),
    }


def frame_offsets(rc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame whole-pose shift (median over joints) of bias-free residuals (C, F, J, 2) -> the
    offsets (C, F, 2) and the residuals without them."""
    off = np.nanmedian(rc, axis=2)
    return off, rc - off[:, :, None]


def fit_contaminated(z: np.ndarray, f: float) -> tuple[float, float]:
    """Maximum-likelihood (p, k) of a detector error that is (1 - p) N(0, b^2) + p N(0, (k b)^2)
    (b^2 = 1 / (1 - p + p k^2): unit variance), seen through a Gaussian reference error that holds
    the share ``f`` of the variance: z (standardised residuals) is then a two-Gaussian mixture."""
    best, arg = -np.inf, (0.0, TAIL_FACTOR)
    for k in np.arange(2.0, 12.01, 0.25):
        for p in np.linspace(0.0, 0.3, 301):
            b2 = 1 / (1 - p + p * k**2)
            v1, v2 = (1 - f) * b2 + f, (1 - f) * b2 * k**2 + f
            like = (1 - p) * np.exp(-0.5 * z**2 / v1) / np.sqrt(v1) + p * np.exp(-0.5 * z**2 / v2) / np.sqrt(
                v2
            )
            ll = float(np.sum(np.log(like)))
            if ll > best:
                best, arg = ll, (float(p), float(k))
    return arg


def tails(r: np.ndarray, ref_share: np.ndarray) -> dict:
    """Heavy tails of residuals (C, F, J, 2) with bias and offset removed, each camera, joint and
    axis standardised. The reference's error (share f of the variance; near Gaussian, a sum over
    views) dilutes the detector's tails: the contaminated Gaussian is fitted through it."""
    sd = np.sqrt(np.nanmean(r**2, axis=1, keepdims=True))
    z = (r / sd).ravel()
    z = z[np.isfinite(z)]
    f = float(np.mean(ref_share))
    p, k = fit_contaminated(z, f)
    p0, k0 = fit_contaminated(z, 0.0)
    return {
        "beyond_3sd": float(np.mean(np.abs(z) > 3)),
        "beyond_3sd_gaussian": 0.0027,
        "beyond_5sd": float(np.mean(np.abs(z) > 5)),
        "excess_kurtosis_residual": float(np.mean(z**4) - 3),
        "reference_variance_share": f,
        "outlier_prob": p,
        "outlier_factor": k,
        "fit_ignoring_reference": {"outlier_prob": p0, "outlier_factor": k0},
    }


def beta_moments(x: np.ndarray) -> tuple[float, float]:
    """Beta(a, b) with the mean and variance of x (clipped into (0.001, 0.999))."""
    x = np.clip(x[np.isfinite(x)], 1e-3, 1 - 1e-3)
    m, v = float(x.mean()), float(x.var())
    k = m * (1 - m) / max(v, 1e-12) - 1
    return m * k, (1 - m) * k


def confidence_model(conf: np.ndarray, r: np.ndarray, ref_var: np.ndarray) -> dict:
    """Error against confidence: per bin the residual sd (per axis) and the detector's own sd (the
    reference's propagated variance ``ref_var`` (C, F, J, 2) removed); Beta fits of the confidence per
    joint; and sd = s0 (1 + k (1 - conf)) fitted to the bins by weighted least squares."""
    rows = []
    z = r / np.sqrt(np.nanmean(r**2, axis=1, keepdims=True))  # each camera, joint and axis to sd 1
    for lo, hi in zip(CONF_BINS[:-1], CONF_BINS[1:]):
        m = (conf >= lo) & (conf < hi) & np.isfinite(r).all(-1)
        if m.sum() < 5:
            continue
        obs = float(np.mean(r[m] ** 2))
        own = max(obs - float(np.mean(ref_var[m])), 0.0)
        rows.append(
            {
                "lo": lo,
                "hi": min(hi, 1.0),
                "n": int(m.sum()),
                "mean_conf": float(conf[m].mean()),
                "sd_residual": math.sqrt(obs),
                "sd_detector": math.sqrt(own),
                "rms_within_joint": float(np.sqrt(np.mean(z[m] ** 2))),
            }
        )
    w = np.array([row["n"] for row in rows], float)
    x = 1 - np.array([row["mean_conf"] for row in rows])
    y = np.array([row["sd_detector"] for row in rows])
    A = np.stack([np.ones_like(x), x], -1) * np.sqrt(w)[:, None]
    s0, s1 = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]
    J = conf.shape[-1]
    beta = [beta_moments(conf[..., j].ravel()) for j in range(J)]
    return {
        "bins": rows,
        "share_below_0.5": float(np.mean(conf < 0.5)),
        "share_below_0.5_per_joint": np.mean(conf < 0.5, axis=(0, 1)).tolist(),
        "beta_per_joint": [{"a": a, "b": b} for a, b in beta],
        "sd_of_conf": {
            "s0": float(s0),
            "k": float(s1 / s0) if s0 > 0 else float("nan"),
            "formula": "sd = s0 * (1 + k * (1 - conf)), per axis, person-size units",
        },
    }
