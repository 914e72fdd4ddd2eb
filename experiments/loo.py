"""Leave-views-out reprojection: a detector's 2D error measured against the other cameras, with the
reference's own error propagated to first order.

For camera c, each joint is triangulated from the other cameras (confidence-weighted DLT) and
projected into c; ``detection - reprojection`` is c's residual. It holds c's own error *and* the
reference's error, the other views' 2D errors carried through triangulation and projection. With
the Jacobian ``J[c, k]`` of c's reprojection with respect to view k's 2D point (autograd through
the DLT), and independent errors of variance ``s2[k]`` per view, joint and axis,

    E[resid_c^2] = s2[c] + sum_k J[c, k]^2 s2[k]        (per axis; the cross-axis terms neglected)

which :func:`solve_view_variance` solves for ``s2`` by fixed-point iteration. Units: whatever the
residuals are in (pixels, or fractions of the person's size when ``scale`` is given).
"""

from __future__ import annotations

import numpy as np
import torch

from binopose.geometry import project, triangulate


def reproject_from(
    uv_src: np.ndarray, conf_src: np.ndarray | None, P_src: torch.Tensor, P_tgt: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triangulate from S views and project into T views, with the Jacobian.

    Args:
        uv_src: (S, F, J, 2) ideal pixels. conf_src: (S, F, J) or None. P_src: (S, 3, 4). P_tgt: (T, 3, 4).
    Returns:
        X (F, J, 3), reprojection (T, F, J, 2) ideal pixels, jac (T, F, J, 2, S, 2):
        d reprojection[t, ..., a] / d uv_src[s, ..., b].
    """
    uv = torch.tensor(uv_src.transpose(1, 0, 2, 3), dtype=torch.float64, requires_grad=True)
    c = None if conf_src is None else torch.as_tensor(conf_src.transpose(1, 0, 2), dtype=torch.float64)
    X = triangulate(uv, P_src.double(), c)  # (F, J, 3)
    out = project(X, P_tgt.double())  # (F, T, J, 2)
    T, S = P_tgt.shape[0], P_src.shape[0]
    F, J = X.shape[:2]
    jac = torch.zeros(T, F, J, 2, S, 2, dtype=torch.float64)
    for t in range(T):  # outputs of one point depend on that point's inputs only: sums give the rows
        for a in range(2):
            (g,) = torch.autograd.grad(out[:, t, :, a].sum(), uv, retain_graph=True)  # (F, S, J, 2)
            jac[t, :, :, a] = g.permute(0, 2, 1, 3)
    return X.detach().numpy(), out.detach().numpy().transpose(1, 0, 2, 3), jac.numpy()


def leave_one_out(uv: np.ndarray, conf: np.ndarray | None, P: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Each camera's detections reprojected from all the other cameras.

    Args:
        uv: (C, F, J, 2) ideal pixels. conf: (C, F, J) or None. P: (C, 3, 4).
    Returns:
        reprojection (C, F, J, 2) ideal pixels, jac (C, F, J, 2, C, 2) (zero for the left-out view).
    """
    C, F, J = uv.shape[:3]
    reproj = np.empty((C, F, J, 2))
    jac = np.zeros((C, F, J, 2, C, 2))
    for c in range(C):
        others = [k for k in range(C) if k != c]
        _, r, g = reproject_from(uv[others], None if conf is None else conf[others], P[others], P[c : c + 1])
        reproj[c], jac[c][..., others, :] = r[0], g[0]
    return reproj, jac


def relative_jacobian(jac: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """jac (C, F, J, 2, S, 2) in pixels -> in units of each view's person size ``scale`` (C, F) / (S, F)."""
    ratio = scale.T[None, :, None, None, :, None] / scale[:, :, None, None, None, None]  # (C, F, 1, 1, S, 1)
    return jac * ratio


def reference_variance(jac: np.ndarray, var: np.ndarray) -> np.ndarray:
    """(C, F, J, 2) variance of the reference's reprojection, from jac (C, F, J, 2, S, 2) and the
    views' error variances var (S, J, 2) (independent views and axes)."""
    return np.einsum("cfjakb,kjb->cfja", jac**2, var)


def solve_view_variance(
    resid: np.ndarray, jac: np.ndarray, iters: int = 200, floor: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Per-view error variance from leave-one-out residuals.

    Args:
        resid: (C, F, J, 2) residuals with their per-view, per-joint mean removed. jac: (C, F, J, 2, C, 2).
        floor: a view's variance is kept above ``floor`` times its observed residual variance.
    Returns:
        var (C, J, 2) of each view's own error, ref (C, J, 2) the reference's share of the residual
        variance (mean over frames), so that ``var + ref`` is the observed residual variance.
    """
    obs = np.nanmean(resid**2, axis=1)
    var = obs.copy()
    ref = np.zeros_like(obs)
    for _ in range(iters):
        ref = np.nanmean(reference_variance(jac, var), axis=1)
        new = np.maximum(obs - ref, floor * obs)
        if np.allclose(new, var, rtol=1e-9, atol=0):
            break
        var = 0.5 * var + 0.5 * new  # damped: the map contracts only when the gains are below one
    return var, ref


def dproj_dX(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(F, J, 2, 3) derivative of the pixel position in camera P (3, 4) at points X (F, J, 3)."""
    Xh = np.concatenate([X, np.ones(X.shape[:-1] + (1,))], -1)
    w = Xh @ P[2]
    uv = np.stack([Xh @ P[0], Xh @ P[1]], -1) / w[..., None]
    return (P[None, None, :2, :3] - uv[..., None] * P[2, :3]) / w[..., None, None]


def bootstrap_view_sd(
    resid: np.ndarray, jac: np.ndarray, reps: int = 100, block: int = 10, seed: int = 0
) -> np.ndarray:
    """(reps, C) each view's error sd (root mean square over joints and axes) from moving-block
    bootstrap resamples of the frames (blocks of ``block`` consecutive frames keep the time correlation)."""
    rng = np.random.default_rng(seed)
    F = resid.shape[1]
    out = np.empty((reps, resid.shape[0]))
    for i in range(reps):
        starts = rng.integers(0, F - block + 1, size=-(-F // block))
        idx = (starts[:, None] + np.arange(block)).ravel()[:F]
        var, _ = solve_view_variance(resid[:, idx], jac[:, idx])
        out[i] = np.sqrt(var.mean((1, 2)))
    return out
