"""Two cameras -> 3D poses: detect in both views, undistort, triangulate, refine, smooth, export.

The steps are plain functions over arrays so each can be used (and tested) alone:

- :func:`~binopose.video.pair_detection.detect_pair` streams both cameras through one detector each (frame offset for
  unsynchronised cameras, checkpoints of the 2D detections so a long run can resume);
- :func:`lift` turns 2D keypoints (the cameras' pixels) into :class:`binopose.io.Poses3D`:
  undistort, fix left/right label swaps between the views, triangulate with confidences, refine
  with the Dual-Diffusion :class:`binopose.refiner.Refiner`, smooth in time (One-Euro);
- :func:`run_pipeline` does it all on two videos (or image folders) and writes the files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from binopose.errors import BinoposeError, warn
from binopose.geometry import triangulate
from binopose.geometry.camera import project
from binopose.geometry.rig import StereoRig
from binopose.guard import RunningEvidence
from binopose.io import Keypoints2D, Poses3D
from binopose.skeleton import BONES
from binopose.smoothing import one_euro
from binopose.video.detect import Detector
from binopose.video.left_right import fix_left_right
from binopose.video.media import open_media
from binopose.video.pair_detection import check_distinct, check_sizes, detect_pair
from binopose.video.view_check import ViewDisagreement

if TYPE_CHECKING:
    from binopose.refiner import Refiner

SMOOTHERS = ("none", "oneeuro")
KEYPOINTS_FILE = "keypoints_2d.npz"


@dataclass(frozen=True)
class LiftConfig:
    refine: bool = True
    model: str | None = None  # None = the refiner's default model
    smooth: str = "none"  # "none" or "oneeuro"
    min_cutoff_hz: float = 1.0  # One-Euro: cutoff at rest
    beta: float = 0.005  # One-Euro: cutoff increase per mm/s of joint speed
    lr_fix: bool = True  # swap the right view's left/right labels where that makes the views agree
    device: str = "cpu"  # where the refiner runs: cpu, cuda, cuda:N or auto
    compile: bool = False  # torch.compile the refiner's network (for large inputs)
    # the refiner's per-call options (binopose.refiner.RefineOptions fields: steps, hypotheses, ...)
    options: dict = field(default_factory=dict)


# --- 2D -> 3D ----------------------------------------------------------------------------------------
#: frames undistorted at a time: Newton's temporaries stay small (in the cache, and below the mmap
#: threshold of :mod:`binopose.stream.heap`) instead of each the size of the whole input
UNDISTORT_FRAMES = 4096


def undistort(kp2d: np.ndarray, rig: StereoRig) -> torch.Tensor:
    """(N, 2, 17, 2) camera pixels -> ideal pinhole pixels (float64 tensor)."""
    uv = torch.as_tensor(kp2d, dtype=torch.float64)
    step = UNDISTORT_FRAMES
    out = (
        torch.cat([rig.undistort(uv[i : i + step]) for i in range(0, len(uv), step)])
        if len(uv) > step
        else rig.undistort(uv)
    )
    lost = int((torch.isfinite(uv).all(-1) & ~torch.isfinite(out).all(-1)).sum())
    if lost:
        warn(
            f"{lost} keypoints lie where the rig's lens model cannot be inverted (beyond its fold or "
            "90 degrees off the axis): treated as missing"
        )
    return out


def reprojection_uncertainty(X: torch.Tensor, uv: torch.Tensor, P: torch.Tensor, fx: float) -> torch.Tensor:
    """(N, 17) mm: the mean reprojection residual of each joint, scaled to its depth (residual * Z / f)."""
    e = (project(X, P) - uv).norm(dim=-1).mean(dim=-2)
    return e * X[..., 2].abs() / fx


#: The median of an adult's 16 bone lengths is ~250 mm; outside this range the rig's scale is wrong.
PLAUSIBLE_MEDIAN_BONE_MM = (80.0, 800.0)


def bone_lengths(X: torch.Tensor) -> torch.Tensor:
    """The finite bone lengths (mm) of the people X (N, 17, 3), flattened."""
    child, parent = (list(c) for c in zip(*BONES, strict=True))
    lengths = (X[:, child] - X[:, parent]).norm(dim=-1)
    return lengths[torch.isfinite(lengths)]


def warn_person_scale(median: float | None) -> float | None:
    """Warn when a recording's median bone length (mm) is far from human size (a rig file in the wrong
    units); returns ``median`` (None: no bone was triangulated, nothing said)."""
    lo, hi = PLAUSIBLE_MEDIAN_BONE_MM
    if median is not None and not lo <= median <= hi:
        warn(
            f"the triangulated person's median bone is {median:.4g} mm long (a person's is ~250 mm; "
            f"expected {lo:.0f}..{hi:.0f}): are the rig file's units right? (--rig-units)"
        )
    return median


def check_person_scale(X: torch.Tensor) -> float | None:
    """Warn when the triangulated people (N, 17, 3) mm are far from human size (a rig file in the wrong
    units); returns the median bone length (mm), None when no bone was triangulated."""
    lengths = bone_lengths(X)
    return warn_person_scale(float(lengths.median()) if len(lengths) else None)


def load_refiner(cfg: LiftConfig) -> Refiner:
    """The Dual-Diffusion refiner of ``cfg``: its model (None = the default shipped with binopose), on its
    device, compiled or not."""
    try:
        from binopose.refiner import CompileError, Refiner
    except ImportError as e:
        raise BinoposeError(
            f"refinement needs binopose.refiner, which cannot be imported ({e}); use --no-refine"
        ) from None
    try:
        return Refiner.load(cfg.model, device=cfg.device, compile=cfg.compile, **cfg.options)
    except CompileError:
        raise
    except BinoposeError as e:
        raise BinoposeError(
            f"cannot load the refiner model: {e} (give --model PATH, or --no-refine)"
        ) from None


def lift_meta(cfg: LiftConfig, rig: StereoRig) -> dict:
    """The ``meta`` of the poses :func:`lift` returns (no absolute paths in outputs)."""
    lift_cfg = asdict(cfg) | {"model": cfg.model and Path(cfg.model).name}
    return {"lift": lift_cfg, "cameras": [rig.left.name, rig.right.name]}


def lift(
    kp: Keypoints2D,
    rig: StereoRig,
    cfg: LiftConfig,
    fps: float | None = None,
    ideal: bool = False,
    refiner: object | None = None,
    evidence: RunningEvidence | None = None,
) -> tuple[Poses3D, dict]:
    """2D keypoints of both views -> 3D poses (mm, left camera frame) and a dict of timings/counts.

    ``ideal``: the keypoints are already undistorted (otherwise the rig's distortion is removed).
    ``refiner``: an already loaded Refiner (else ``cfg.model`` is loaded when ``cfg.refine``).
    ``evidence``: the recording's running evidence when it arrives a frame at a time (live).
    """
    if cfg.smooth not in SMOOTHERS:
        raise BinoposeError(f"unknown smoother {cfg.smooth!r} (expected one of: {', '.join(SMOOTHERS)})")
    t0 = time.perf_counter()
    P = rig.projection_matrices(torch.float64)
    uv = torch.as_tensor(kp.kp2d, dtype=torch.float64) if ideal else undistort(kp.kp2d, rig)
    conf = (
        torch.ones(uv.shape[:-1], dtype=torch.float64)
        if kp.conf is None
        else torch.as_tensor(kp.conf, dtype=torch.float64)
    )
    swapped = torch.zeros(len(uv), dtype=torch.bool)
    if cfg.lr_fix:
        uv, conf, swapped = fix_left_right(uv, conf, P)
    X = triangulate(uv, P, conf)
    check_person_scale(X)
    views = ViewDisagreement()
    views.add(uv, X, P, conf)
    unc = reprojection_uncertainty(X, uv, P, float(rig.left.K[0, 0]))
    info = {
        "frames": len(uv),
        "lr_swapped_frames": int(swapped.sum()),
        "view_disagreement_px": views.check(),
        "triangulate_s": time.perf_counter() - t0,
        "refined": False,
        "uncertainty": "reprojection residual x depth / focal length",
    }
    tri = X.clone()
    if cfg.refine:
        t1 = time.perf_counter()
        ok = torch.isfinite(X).all(-1).all(-1)  # the refiner gets complete poses only
        if ok.any():
            res = (refiner or load_refiner(cfg)).refine(
                uv[ok].float(), P, conf[ok].float(), evidence=evidence
            )  # uv: undistorted
            X[ok] = res.poses.detach().double()
            unc[ok] = reprojection_uncertainty(X[ok], uv[ok], P, float(rig.left.K[0, 0]))
            if res.gate is not None:
                info["gate"] = asdict(res.gate)
        info.update(refined=True, refined_frames=int(ok.sum()), refine_s=time.perf_counter() - t1)
    X = X.numpy()
    if cfg.smooth == "oneeuro":
        if not fps:
            raise BinoposeError("One-Euro smoothing needs the frame rate (give --fps)")
        X = one_euro(X, fps, cfg.min_cutoff_hz, cfg.beta)
    frames = kp.frame_index[:, 0] if kp.frame_index is not None else None
    poses = Poses3D(X, unc.numpy(), frames, fps, lift_meta(cfg, rig))
    info["triangulated"] = tri.numpy()
    info["lr_swapped"] = swapped.numpy()
    return poses, info


def relative_to(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (its name alone where no relative path exists)."""
    try:
        return os.path.relpath(Path(path).resolve(), Path(folder).resolve())
    except ValueError:  # another drive (Windows)
        return Path(path).name


# --- the whole run -----------------------------------------------------------------------------------
def run_pipeline(
    left: str | Path, right: str | Path, rig: StereoRig, out_dir: str | Path, *args, **kwargs
) -> dict:
    """Two videos (or image folders) -> files in ``out_dir`` (see :func:`_run_pipeline`), holding the
    folder's lock (:func:`binopose.lock.folder_lock`): a second run into the same folder at the same time
    stops with one line before it writes anything."""
    from binopose.lock import folder_lock

    with folder_lock(out_dir):
        return _run_pipeline(left, right, rig, out_dir, *args, **kwargs)


def _run_pipeline(
    left: str | Path,
    right: str | Path,
    rig: StereoRig,
    out_dir: str | Path,
    cfg: LiftConfig = LiftConfig(),
    detector_factory: Callable[[], Detector] | None = None,
    offset: int = 0,
    resume: bool = False,
    max_frames: int | None = None,
    fps: float | None = None,
    viz: bool = True,
    progress: bool = True,
    trc_frame: str = "upright",
) -> dict:
    """Two videos (or image folders) -> files in ``out_dir``; returns the run summary (also saved
    as ``summary.json``): frames, timings, detection frames/s and the paths written."""
    from binopose.io import save_poses
    from binopose.video.detect import make_detector

    t_start = time.perf_counter()
    out = Path(out_dir)
    src_l, src_r = open_media(left, fps), open_media(right, fps)
    check_sizes(src_l, src_r, rig)
    check_distinct(src_l, src_r)
    rate = src_l.info.fps
    factory = detector_factory or make_detector
    refiner = load_refiner(cfg) if cfg.refine else None  # fail before the long detection step
    detectors = (factory(), factory())
    try:
        kp, det = detect_pair(
            src_l, src_r, detectors, offset, max_frames, out / KEYPOINTS_FILE, resume, progress=progress
        )
    finally:
        for d in detectors:
            getattr(d, "close", lambda: None)()
    poses, info = lift(kp, rig, cfg, rate, refiner=refiner)
    files = {"keypoints_2d": str(out / KEYPOINTS_FILE)}
    for ext in ("json", "npz", "csv", "trc"):
        files[f"poses_{ext}"] = str(save_poses(out / f"poses_3d.{ext}", poses, trc_frame=trc_frame))
    t_viz = time.perf_counter()
    if viz:
        from binopose import viz as V

        files.update(V.render_all(poses, kp, rig, src_l, src_r, out, progress=progress))
    n, det_s, det_n = len(poses), det["seconds"], det["pairs"]
    detected = int((kp.conf.max(-1) > 0).all(-1).sum())
    summary = {
        "left": relative_to(src_l.path, out),  # inputs as seen from the output folder: no absolute paths
        "right": relative_to(src_r.path, out),
        "rig": [rig.left.name, rig.right.name],
        "baseline_mm": round(rig.baseline_mm, 1),
        "offset": offset,
        "fps": rate,
        "frames": n,
        "frames_person_in_both_views": detected,
        "frames_complete_3d": int(np.isfinite(poses.poses).all((1, 2)).sum()),
        "lr_swapped_frames": info["lr_swapped_frames"],
        "view_disagreement_px": info["view_disagreement_px"],
        "refined": info["refined"],
        "smooth": cfg.smooth,
        "timings_s": {
            "detect": round(det_s, 3),
            "triangulate": round(info["triangulate_s"], 4),
            "refine": round(info.get("refine_s", 0.0), 4),
            "viz": round(time.perf_counter() - t_viz, 3),
            "total": round(time.perf_counter() - t_start, 3),
        },
        "detected_pairs_this_run": det_n,
        "detection_frames_per_s": {
            "pairs": round(det_n / det_s, 2) if det_n else None,
            "images": round(2 * det_n / det_s, 2) if det_n else None,
        },
        "uncertainty": info["uncertainty"],
        "files": files,
    }
    summary["files"]["summary"] = str(out / "summary.json")
    write_summary(summary, out)
    return summary


def write_summary(summary: dict, out: Path) -> None:
    """``summary.json`` in ``out``, with the paths of the files relative to ``out`` (the summary
    returned by :func:`run_pipeline` keeps them as the caller gave them)."""
    from binopose.io_utils import atomic_write_json

    files = {k: relative_to(Path(v), out) for k, v in summary["files"].items()}
    atomic_write_json(out / "summary.json", {**summary, "files": files})
