"""2D error models of keypoint detectors, per joint and per view, with structure between the views.

An error is the sum of
- a bias (per view, joint, axis),
- a part *shared* by both views (stereo-aware detectors: the views move together),
- an *independent* part per view (one detector run per image; for stereo-aware detectors only a
  small disparity term in u),
- a per-frame offset of the whole pose (shared, plus a disparity-like part),
- heavy tails (Student-t) and occasional left/right swaps.

All sizes are fractions of the person's size in the image (:func:`pose_scale_px`), so one model
serves crops of 384 px and full HD frames alike. Models are fitted from (prediction, ground truth)
pairs by the method of moments (:func:`fit_error_model`) and stored as small JSON files.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from binopose.errors import BinoposeError
from binopose.io_utils import atomic_write_json
from binopose.skeleton import NUM_JOINTS, flip_permutation


def pose_scale_px(kp2d: Tensor) -> Tensor:
    """Size of the person in each view: the larger side of the 2D bounding box (..., V, J, 2) -> (..., V)."""
    lo = torch.nan_to_num(kp2d, nan=float("inf")).amin(-2)
    hi = torch.nan_to_num(kp2d, nan=float("-inf")).amax(-2)
    return (hi - lo).amax(-1).clamp_min(1.0)


def _zeros(*shape: int) -> list:
    return np.zeros(shape).tolist()


@dataclass(frozen=True)
class ErrorModel2D:
    """A 2D error model in units of the person's size in the image (see module docstring)."""

    name: str = "custom"
    bias: list = field(default_factory=lambda: _zeros(2, NUM_JOINTS, 2))  # (2, J, 2)
    shared_sigma: list = field(default_factory=lambda: _zeros(NUM_JOINTS, 2))  # (J, 2)
    indep_sigma: list = field(default_factory=lambda: _zeros(2, NUM_JOINTS, 2))  # (2, J, 2)
    offset_sigma: list = field(default_factory=lambda: [0.0, 0.0])  # (2,) u, v, shared by the views
    offset_disparity_sigma: float = 0.0  # per-frame u shift, independent per view
    outlier_prob: float = 0.0  # heavy tails: a joint term is drawn ``outlier_factor`` times wider
    outlier_factor: float = 4.0
    swap_prob: float = 0.0  # probability that a view swaps left and right
    # start level of refinement when nothing says how large an input's errors are (no statistics):
    # 1 where the sizes were fitted on a real detector, else chosen after training (validate.py)
    default_level: float = 1.0

    def arrays(self, device: torch.device | str = "cpu") -> dict[str, Tensor]:
        keys = ("bias", "shared_sigma", "indep_sigma", "offset_sigma")
        return {
            k: torch.tensor(np.asarray(getattr(self, k)), dtype=torch.float32, device=device) for k in keys
        }

    def rms(self) -> float:
        """Root mean square size of the random part (relative units), for matching noise levels."""
        s = (
            np.asarray(self.shared_sigma) ** 2
            + np.asarray(self.indep_sigma) ** 2
            + np.asarray(self.offset_sigma) ** 2
        )
        return float(np.sqrt(s.mean() + self.offset_disparity_sigma**2 / 2))

    def joint_rms(self) -> float:
        """Root mean square size of the per-joint random part alone (shared and per-view, no per-frame
        offset): the part a single-frame pose prior can remove."""
        s = np.asarray(self.shared_sigma) ** 2 + np.asarray(self.indep_sigma) ** 2
        return float(np.sqrt(s.mean()))

    def residual_rms(self) -> float:
        """Root mean square of the per-view independent part, per coordinate, heavy tails included: the
        size that a two-view triangulation's residual measures (the shared part and the per-frame
        offset leave none; :func:`binopose.guard.independent_noise_var`)."""
        mix = 1 - self.outlier_prob + self.outlier_prob * self.outlier_factor**2
        return float(np.sqrt((np.asarray(self.indep_sigma) ** 2).mean() * mix))

    def joint_profile(self) -> np.ndarray:
        """(J,) relative size of each joint's random 2D error (shared and per-view parts), root mean
        square 1 over the joints: which joints this detector gets wrong more often than others."""
        s = np.asarray(self.shared_sigma) ** 2 + (np.asarray(self.indep_sigma) ** 2).mean(0)
        return normalized_profile(np.sqrt(s.mean(-1)))

    def scaled(self, factor: float) -> ErrorModel2D:
        """The same model with every random part multiplied by ``factor`` (bias unchanged)."""
        d = asdict(self)
        for k in ("shared_sigma", "indep_sigma", "offset_sigma"):
            d[k] = (np.asarray(d[k]) * factor).tolist()
        d["offset_disparity_sigma"] *= factor
        return ErrorModel2D(**d)

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_json(path, asdict(self))

    @staticmethod
    def load(path: str | os.PathLike) -> ErrorModel2D:
        p = Path(path)
        if not p.is_file():
            raise BinoposeError(f"2D error model not found: {p}")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
            return ErrorModel2D.from_dict(d)
        except (json.JSONDecodeError, TypeError, ValueError) as e:
            raise BinoposeError(f"2D error model {p} is malformed ({e})") from None

    @staticmethod
    def from_dict(d: dict) -> ErrorModel2D:
        m = ErrorModel2D(**d)
        shapes = {
            "bias": (2, NUM_JOINTS, 2),
            "shared_sigma": (NUM_JOINTS, 2),
            "indep_sigma": (2, NUM_JOINTS, 2),
            "offset_sigma": (2,),
        }
        for k, s in shapes.items():
            a = np.asarray(getattr(m, k), dtype=np.float64)
            if a.shape != s or not np.isfinite(a).all():
                raise ValueError(f"{k} must be finite with shape {s}, got {a.shape}")
        if not 0 < m.default_level < 100:
            raise ValueError(f"default_level must be positive, got {m.default_level}")
        return m


def normalized_profile(size: np.ndarray) -> np.ndarray:
    """Per-joint error sizes (..., J) -> the same shape scaled to root mean square 1 over the joints
    (all ones where every size is zero or not finite)."""
    size = np.nan_to_num(np.asarray(size, np.float64), nan=0.0, posinf=0.0)
    rms = np.sqrt((size**2).mean(-1, keepdims=True))
    flat = rms <= 1e-12
    return np.where(flat, 1.0, size / np.where(flat, 1.0, rms))


def profile_jitter(B: int, spread: float, gen: torch.Generator) -> Tensor:
    """(B, J) random per-joint factors exp(spread * z), root mean square 1 per sample: detectors
    differ in which joints they get wrong, so training varies the per-joint profile of its models."""
    f = torch.exp(spread * torch.randn(B, NUM_JOINTS, generator=gen, device=gen.device))
    return f / f.pow(2).mean(-1, keepdim=True).sqrt()


def _heavy(gen: torch.Generator, shape: tuple, prob: float, factor: float) -> Tensor:
    """Contaminated Gaussian: N(0, 1), and N(0, factor^2) with probability ``prob`` (heavy tails)."""
    z = torch.randn(shape, generator=gen, device=gen.device)
    if prob <= 0:
        return z
    wide = torch.rand(shape, generator=gen, device=gen.device) < prob
    return torch.where(wide, z * factor, z)


def sample_errors(
    model: ErrorModel2D,
    scale_px: Tensor,
    sigma: Tensor,
    gen: torch.Generator,
    with_bias: bool = True,
    joint_factor: Tensor | None = None,
) -> Tensor:
    """Draw 2D errors (pixels) for a batch.

    Args:
        model: the error model. scale_px: (B, 2) person size per view (:func:`pose_scale_px`).
        sigma: (B,) multiplier of the random part (the diffusion noise level; 1 = the model as fitted).
        gen: random generator (its device is where the errors are drawn). with_bias: add the model's bias.
        joint_factor: optional (B, J) multiplier of each joint's shared and per-view parts.
    Returns:
        (B, 2, J, 2) errors in pixels.
    """
    B = scale_px.shape[0]
    dev = gen.device
    a = {k: v.to(dev) for k, v in model.arrays().items()}
    heavy = (model.outlier_prob, model.outlier_factor)
    shared = _heavy(gen, (B, 1, NUM_JOINTS, 2), *heavy) * a["shared_sigma"]
    indep = _heavy(gen, (B, 2, NUM_JOINTS, 2), *heavy) * a["indep_sigma"]
    if joint_factor is not None:
        f = joint_factor.float().to(dev).view(B, 1, NUM_JOINTS, 1)
        shared, indep = shared * f, indep * f
    offset = torch.randn(B, 1, 1, 2, generator=gen, device=dev) * a["offset_sigma"]
    disp = torch.zeros(B, 2, 1, 2, device=dev)
    disp[..., 0] = torch.randn(B, 2, 1, generator=gen, device=dev) * model.offset_disparity_sigma
    e = (shared + indep + offset + disp) * sigma.float().to(dev).view(B, 1, 1, 1)
    if with_bias:
        e = e + a["bias"]
    return e * scale_px.float().to(dev).view(B, 2, 1, 1)


def apply_swaps(kp2d: Tensor, prob: float, gen: torch.Generator) -> Tensor:
    """Swap left and right joints in each view with probability ``prob`` (detector label swaps)."""
    if prob <= 0:
        return kp2d
    B = kp2d.shape[0]
    swap = torch.rand(B, 2, generator=gen, device=kp2d.device) < prob
    flipped = kp2d[..., torch.as_tensor(flip_permutation()), :]
    return torch.where(swap[..., None, None], flipped, kp2d)


def fit_error_model(pred: np.ndarray, gt: np.ndarray, name: str = "fitted") -> ErrorModel2D:
    """Fit an :class:`ErrorModel2D` to (prediction, ground truth) 2D pairs by the method of moments.

    Args:
        pred, gt: (N, 2, J, 2) pixels of the same frames.
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.ndim != 4 or pred.shape[1:] != (2, NUM_JOINTS, 2):
        raise BinoposeError(
            f"fit_error_model: expected two (N, 2, 17, 2) arrays, got {pred.shape} and {gt.shape}"
        )
    ok = np.isfinite(pred).all((1, 2, 3)) & np.isfinite(gt).all((1, 2, 3))
    if ok.sum() < 10:
        raise BinoposeError(f"fit_error_model: need at least 10 finite frames, got {int(ok.sum())}")
    pred, gt = pred[ok], gt[ok]
    scale = pose_scale_px(torch.from_numpy(gt)).numpy()  # (N, 2)
    e = (pred - gt) / scale[:, :, None, None]
    bias = e.mean(0)
    r = e - bias
    off = np.median(r, axis=2, keepdims=True)  # (N, 2, 1, 2) per-frame whole-pose shift
    off_shared = off.mean(1)  # (N, 1, 2)
    off_disp = (off[:, 0, 0, 0] - off[:, 1, 0, 0]) / 2
    r = r - off
    m = r.mean(1)  # (N, J, 2) common to the views
    d = (r[:, 0] - r[:, 1]) / 2
    var_d = d.var(0)
    indep = np.sqrt(2 * var_d)  # per-view independent part, same in both views
    shared = np.sqrt(np.clip(m.var(0) - var_d, 0, None))
    # tails: match the kurtosis of the residuals with a contaminated Gaussian of factor 4
    z = (r / np.sqrt(r.var(0, keepdims=True) + 1e-12)).ravel()
    kurt = float(np.mean(z**4))
    k = 4.0
    probs = np.linspace(0, 0.5, 501)
    model_kurt = 3 * (1 - probs + probs * k**4) / (1 - probs + probs * k**2) ** 2
    prob = float(probs[np.argmin(np.abs(model_kurt - kurt))]) if kurt > 3.2 else 0.0
    # the random sizes above are standard deviations; the mixture's std is sqrt(1 - p + p k^2) times its base
    base = 1 / math.sqrt(1 - prob + prob * k**2)
    shared, indep = shared * base, indep * base
    return ErrorModel2D(
        name=name,
        bias=bias.tolist(),
        shared_sigma=shared.tolist(),
        indep_sigma=np.stack([indep, indep]).tolist(),
        offset_sigma=off_shared.reshape(-1, 2).std(0).tolist(),
        offset_disparity_sigma=float(off_disp.std() * math.sqrt(2)),
        outlier_prob=prob,
        outlier_factor=k,
    )
