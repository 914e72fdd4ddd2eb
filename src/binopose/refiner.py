"""The user-facing refiner: load a model once, refine batches of stereo 2D keypoints into 3D poses.

    ref = Refiner.load()                      # the default model shipped with binopose
    res = ref.refine(kp2d, rig)               # kp2d (N, 2, 17, 2) undistorted pixels
    res.poses, res.uncertainty                # (N, 17, 3) mm in the left camera frame, (N, 17) mm

Inputs stream through the network in chunks, so a million poses need little memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from binopose.config import from_dict
from binopose.data.noise import ErrorModel2D, pose_scale_px
from binopose.device import resolve_device
from binopose.diffusion.forward import hip_root_profile
from binopose.diffusion.sampling import SampleResult, refine_2d
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.rig import StereoRig
from binopose.model import Denoiser, DenoiserConfig
from binopose.model.denoiser import EVIDENCE_DIM
from binopose.skeleton import LEFT_HIP, NUM_JOINTS, RIGHT_HIP, ROOT, root_from_hips

#: relative reprojection residual below which an input is taken to come from a stereo-aware detector
_STEREO_RESIDUAL = 0.002


def default_model_path() -> Path:
    return Path(str(resources.files("binopose") / "assets" / "default_model" / "model.safetensors"))


def camera_baseline(P: Tensor) -> Tensor:
    """Distance between the two camera centres of (..., 2, 3, 4) projection matrices."""
    M, p4 = P[..., :3].double(), P[..., 3:].double()
    C = -torch.linalg.solve(M, p4).squeeze(-1)
    return (C[..., 0, :] - C[..., 1, :]).norm(dim=-1)


class CompileError(BinoposeError):
    """``torch.compile`` does not work on this machine."""


@dataclass
class Refiner:
    net: Denoiser
    schedule: Schedule
    error_models: dict[str, ErrorModel2D]
    steps: int = 1
    hypotheses: int = 1
    aggregate: str = "mean"
    start_sigma: float | None = None  # start level (None: each error family's ``default_level``)
    noise_kind: str = "auto"  # which error model family the input follows: auto, stereo, per-view
    noise_profile: np.ndarray | None = None  # (17,) relative 2D error size per joint (None: the family's)
    chunk: int | None = None  # poses per chunk (None: 32768 on the CPU, 131072 on a GPU)
    # poses per network call (None: 512 on the CPU, for its caches; the whole chunk on a GPU)
    net_chunk: int | None = None
    device: str | torch.device = "cpu"  # cpu, cuda, cuda:N or auto; inputs and results stay on the CPU
    precision: str = "float32"  # the network's: float32, or bfloat16 (autocast; geometry stays float64)
    compile: bool = False  # torch.compile the network (a GPU's first call takes ~20 s more)

    def __post_init__(self) -> None:
        self.device = resolve_device(str(self.device))
        if self.precision not in ("float32", "bfloat16"):
            raise BinoposeError(f"precision must be float32 or bfloat16, got {self.precision!r}")
        gpu = self.device.type == "cuda"
        if self.chunk is None:
            self.chunk = 131072 if gpu else 32768
        if self.net_chunk is None:
            self.net_chunk = self.chunk if gpu else 512
        self.net.to(self.device)
        if self.compile:
            self.net = torch.compile(self.net, dynamic=True)  # type: ignore[assignment]
            self._compile_now()

    def _compile_now(self) -> None:
        """Run the compiled network once on a small batch, the way :meth:`refine` calls it (inference
        mode, the same autocast): the first real batch does not compile again, and a machine that cannot
        compile (no C++ compiler, an unsupported GPU) fails here with one line, not at the first pose."""
        n, dev = 4, self.device
        try:
            with torch.inference_mode():
                X = torch.zeros(n, NUM_JOINTS, 3, device=dev)
                X[..., 2] = 3000.0
                ev = torch.zeros(n, NUM_JOINTS, EVIDENCE_DIM, device=dev)
                self._denoise(X, torch.ones(n, device=dev), torch.full((n,), 300.0, device=dev), ev)
        except Exception as e:  # torch raises many kinds here (inductor, dynamo, the C++ toolchain)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise CompileError(
                f"torch.compile failed on this machine ({first[:200]}); run without compile"
            ) from None

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **options: object) -> Refiner:
        """Load a model folder or ``model.safetensors`` (None: the default model)."""
        from binopose.checkpoint import load_model

        p = Path(path) if path is not None else default_model_path()
        state, config, err = load_model(p)
        try:
            # model files from before these two options have no such keys
            legacy = {"noise_profile": False, "root_from_hips": False}
            mcfg = from_dict(DenoiserConfig, {**legacy, **config["model"]})
            blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
            if mcfg.depth != blocks or not (0 < mcfg.heads <= mcfg.dim <= 4096 and 0 < mcfg.cond_dim <= 4096):
                # checked before building: a forged config (depth 2**70) must not exhaust the memory
                raise BinoposeError(
                    f"{p}: config {config['model']} does not fit the weights ({blocks} blocks)"
                )
            net = Denoiser(mcfg)
            net.load_state_dict(state, strict=True)
            schedule = from_dict(Schedule, config["schedule"])
            models = {m["name"]: ErrorModel2D.from_dict(m) for m in err["models"]}
        except (KeyError, RuntimeError, TypeError, ValueError) as e:
            if isinstance(e, BinoposeError):
                raise
            raise BinoposeError(
                f"{p}: model does not match this binopose version ({str(e).splitlines()[0]})"
            ) from None
        net.eval()
        return cls(net, schedule, models, **options)  # type: ignore[arg-type]

    def _denoise(self, X: Tensor, s: Tensor, B: Tensor, ev: Tensor) -> tuple[Tensor, Tensor]:
        n = max(1, self.net_chunk)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=self.precision == "bfloat16"):
            outs = [
                self.net(
                    X[i : i + n].float(), s[i : i + n].float(), B[i : i + n].float(), ev[i : i + n].float()
                )
                for i in range(0, X.shape[0], n)
            ]
        x0, log_std = (torch.cat(t) if len(outs) > 1 else t[0] for t in zip(*outs))
        return x0.to(X.dtype), log_std.float()

    def looks_stereo(self, u: Tensor, P: Tensor, scale: Tensor | None = None) -> Tensor:
        """(B,) True where the input looks stereo-aware (reprojects with ~zero residual), or as
        ``noise_kind`` says when it is not "auto"."""
        scale = pose_scale_px(u) if scale is None else scale
        if self.noise_kind != "auto":
            return torch.full(u.shape[:1], self.noise_kind == "stereo", device=u.device)
        X = triangulate(u, P)
        res = ((project(X, P) - u).norm(dim=-1) / scale[..., None]).nanmedian(-1).values.amax(-1)
        return torch.nan_to_num(res, nan=1.0) < _STEREO_RESIDUAL

    @torch.inference_mode()
    def refine(
        self,
        kp2d: Tensor | np.ndarray,
        cameras: StereoRig | Tensor | np.ndarray,
        conf: Tensor | np.ndarray | None = None,
    ) -> SampleResult:
        """Refine stereo 2D keypoints.

        Args:
            kp2d: (N, 2, 17, 2) undistorted pixels of the left and right view (NaN = missing).
            cameras: a :class:`StereoRig`, or projection matrices (2, 3, 4) or (N, 2, 3, 4) in the
                left camera frame (mm).
            conf: optional (N, 2, 17) confidences (0 = missing).
        Returns:
            poses (N, 17, 3) mm, uncertainty (N, 17) mm, triangulated (N, 17, 3).
        """
        u = torch.as_tensor(kp2d)  # converted to float64 chunk by chunk (a million poses stay small)
        if u.ndim != 4 or u.shape[1:] != (2, NUM_JOINTS, 2):
            raise BinoposeError(f"keypoints must have shape (N, 2, 17, 2), got {tuple(u.shape)}")
        P = (
            cameras.projection_matrices(torch.float64)
            if isinstance(cameras, StereoRig)
            else torch.as_tensor(cameras)
        )
        if P.shape[-3:] != (2, 3, 4) or P.ndim not in (3, 4) or (P.ndim == 4 and P.shape[0] != u.shape[0]):
            raise BinoposeError(
                f"projection matrices must be (2, 3, 4) or (N, 2, 3, 4), got {tuple(P.shape)}"
            )
        P = P.expand(u.shape[0], 2, 3, 4)
        c = None if conf is None else torch.as_tensor(conf)
        if c is not None and c.shape != u.shape[:3]:
            raise BinoposeError(f"confidences must have shape (N, 2, 17), got {tuple(c.shape)}")
        N = u.shape[0]
        # page-locked results on a GPU: copies into ordinary (pageable) memory run at a tenth of the speed
        host = dict(dtype=torch.float64, pin_memory=self.device.type == "cuda")
        out = SampleResult(
            torch.empty(N, NUM_JOINTS, 3, **host),
            torch.empty(N, NUM_JOINTS, **host),
            torch.empty(N, NUM_JOINTS, 3, **host),
        )
        for i in range(0, N, self.chunk):  # results go straight into the outputs: no concatenation
            sl = slice(i, i + self.chunk)
            # moved in their own dtype (float32 input: half the bytes), then made float64 there
            r = self._refine_chunk(
                *(None if t is None else t[sl].to(self.device).double() for t in (u, P, c))
            )
            out.poses[sl], out.uncertainty[sl], out.triangulated[sl] = r.poses, r.uncertainty, r.triangulated
        return out

    def _refine_chunk(self, u: Tensor, P: Tensor, conf: Tensor | None) -> SampleResult:
        if self.net.cfg.root_from_hips:
            u = root_from_hips(u)
            if conf is not None:
                conf = conf.clone()
                conf[..., ROOT] = conf[..., [RIGHT_HIP, LEFT_HIP]].amin(-1)
        scale = pose_scale_px(u)
        baseline = camera_baseline(P)
        stereo = self.looks_stereo(u, P, scale)
        out = None
        n_stereo = int(stereo.sum())
        for kind, mask in (("stereo", stereo), ("per-view", ~stereo)):
            n = n_stereo if kind == "stereo" else len(stereo) - n_stereo
            if n == 0:
                continue
            pick = (lambda t: t) if n == len(stereo) else (lambda t, m=mask: t[m])  # noqa: E731  (all: no copy)
            model = self.error_models.get(kind) or next(iter(self.error_models.values()))
            level = model.default_level if self.start_sigma is None else self.start_sigma
            profile = torch.as_tensor(
                model.joint_profile() if self.noise_profile is None else self.noise_profile
            ).to(u)
            if self.net.cfg.root_from_hips:  # the pelvis is now as good as the hips
                profile = hip_root_profile(profile)
            r = refine_2d(
                self._denoise,
                pick(u),
                pick(P),
                pick(baseline),
                pick(scale),
                self.schedule.sampling_sigmas(level, self.steps),
                self.hypotheses,
                self.aggregate,
                model,
                conf=None if conf is None else pick(conf),
                profile=profile,
            )
            if n == len(stereo):
                out = [r.poses, r.uncertainty, r.triangulated]
                break
            if out is None:
                out = [
                    torch.full((u.shape[0], *t.shape[1:]), float("nan"), dtype=t.dtype, device=t.device)
                    for t in (r.poses, r.uncertainty, r.triangulated)
                ]
            for o, t in zip(out, (r.poses, r.uncertainty, r.triangulated)):
                o[mask] = t.to(o.dtype)
        # a joint no view pair can triangulate stays NaN (never a silent guess)
        tri_nan = ~torch.isfinite(out[2]).all(-1)
        out[0][tri_nan] = float("nan")
        out[1][tri_nan] = float("nan")
        return SampleResult(*out)
