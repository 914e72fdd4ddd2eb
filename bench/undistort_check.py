"""Undistortion accuracy on strong wide-angle lenses, near the radius where the lens model folds back.

    python bench/undistort_check.py

For each lens (OpenCV k1 k2 p1 p2 k3) and focal length: ideal points on a grid out to 99.5% of the fold
radius whose distorted pixels land in a 1920x1080 image are distorted, then undistorted by binopose
(Newton + checks) and by the fixed-point iteration binopose used before (20 steps, as
``cv2.undistortPoints`` by default). Prints the largest error (px) of each and how many points were
more than 1 px off; a table and JSON with the command and machine.
"""

from __future__ import annotations

import json
import platform
import sys

import torch

from binopose.geometry.camera import _to_normalized, _to_pixels, distort_points, undistort_points

LENSES = (
    (-0.32, 0.12, 0.0, 0.0, -0.02),
    (-0.4, 0.2, 0.0, 0.0, -0.05),
    (-0.45, 0.25, 1e-3, -1e-3, -0.07),
    (-0.3, 0.1, 0.0, 0.0, -0.015),
)


def fixed_point(uv: torch.Tensor, K: torch.Tensor, d: torch.Tensor, iterations: int = 20) -> torch.Tensor:
    """The previous binopose undistortion: x = (x_d - tangential(x)) / radial(x), no convergence check."""
    xd = _to_normalized(uv, K)
    k1, k2, p1, p2, k3 = d
    xy = xd
    for _ in range(iterations):
        x, y = xy[..., 0], xy[..., 1]
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        dx, dy = 2 * p1 * x * y + p2 * (r2 + 2 * x * x), p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        xy = torch.stack([(xd[..., 0] - dx) / radial, (xd[..., 1] - dy) / radial], -1)
    return _to_pixels(xy, K)


def case(lens: tuple[float, ...], f: float) -> dict:
    K = torch.tensor([[f, 0, 960], [0, f, 540], [0, 0, 1]], dtype=torch.float64)
    d = torch.tensor(lens, dtype=torch.float64)
    r = torch.linspace(0, 3, 3001, dtype=torch.float64)
    rd = r * (1 + d[0] * r**2 + d[1] * r**4 + d[4] * r**6)
    fold = float(r[torch.nonzero(rd[1:] < rd[:-1])[0, 0]])
    g = torch.linspace(-3, 3, 200, dtype=torch.float64)
    n = torch.cartesian_prod(g, g)
    ideal = n[n.norm(dim=-1) < 0.995 * fold] * f + torch.tensor([960.0, 540.0], dtype=torch.float64)
    uv = distort_points(ideal, K, d)
    inside = ((uv >= 0) & (uv < torch.tensor([1920.0, 1080.0], dtype=torch.float64))).all(-1)
    uv, ideal = uv[inside], ideal[inside]
    new = (undistort_points(uv, K, d) - ideal).norm(dim=-1)
    old = (fixed_point(uv, K, d) - ideal).norm(dim=-1)
    return {
        "lens": list(lens),
        "f_px": f,
        "points": int(inside.sum()),
        "new_max_px": float(new.nan_to_num(float("inf")).max()),
        "new_nan": int(new.isnan().sum()),
        "old_max_px": float(old.nan_to_num(float("inf")).max()),
        "old_over_1px": int((old > 1).sum()),
    }


def main() -> int:
    rows = [case(lens, f) for lens in LENSES for f in (500.0, 700.0)]
    print(
        f"{'lens k1 k2 p1 p2 k3':38} {'f':>5} {'points':>7} {'new max px':>11} {'old max px':>11} {'old >1px':>9}"
    )
    for r in rows:
        print(
            f"{str(r['lens']):38} {r['f_px']:5.0f} {r['points']:7d} {r['new_max_px']:11.1e} "
            f"{r['old_max_px']:11.2f} {r['old_over_1px']:9d}"
        )
    doc = {"command": " ".join(["python", *sys.argv]), "machine": platform.platform(), "rows": rows}
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
