"""The user-facing refiner: load a model once, refine batches of stereo 2D keypoints into 3D poses.

    ref = Refiner.load()                      # the default model shipped with binopose
    res = ref.refine(kp2d, rig)               # kp2d (N, 2, 17, 2) pixels as the rig's cameras see them
    res.poses, res.kp2d                       # (N, 17, 3) mm in the left camera frame, refined 2D px
    ref.refine(kp2d, rig, options=RefineOptions(steps=4))   # per-call options; the refiner never changes

Inputs stream through the network in chunks, so a million poses need little memory. By default the
output keeps the detector's joint definitions and takes the network's correction only as far as the
input's own evidence supports it (:mod:`binopose.guard`): it is never knowingly worse than triangulation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from binopose import distributed
from binopose.bundle import default_model_path, read_bundle
from binopose.data.noise import ErrorModel2D, pose_scale_px
from binopose.data.presets import PER_VIEW, STEREO, stereo_mask
from binopose.device import resolve_device
from binopose.diffusion.conditioning import EVIDENCE_DIM, Conditioning
from binopose.diffusion.sampling import SampleResult, refine_2d
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.rig import StereoRig
from binopose.geometry.stereo import camera_baseline
from binopose.guard import (
    GateReport,
    RunningEvidence,
    gate,
    gate_settings,
    has_spread,
)
from binopose.offsets import keep_definitions, kept_joints
from binopose.refine_inputs import check_inputs, chunked, level_options
from binopose.refine_options import CONF_THRESHOLD, RefineOptions, split_settings
from binopose.skeleton import NUM_JOINTS

__all__ = [
    "CompileError",
    "RefineOptions",
    "RefineResult",
    "Refiner",
    "camera_baseline",
    "default_model_path",
    "split_settings",
]


class CompileError(BinoposeError):
    """``torch.compile`` does not work on this machine."""


@dataclass(frozen=True)
class RefineResult:
    poses: Tensor  # (N, 17, 3) mm, left camera frame
    triangulated: Tensor  # (N, 17, 3) mm: plain (confidence-weighted) triangulation of the same input
    kp2d: Tensor  # (N, 2, 17, 2) px: the refined 2D keypoints (the poses reprojected into both views)
    gate: GateReport | None  # what the do-no-harm gate found (None: gate off)


@dataclass(frozen=True)
class Refiner:
    net: nn.Module
    schedule: Schedule
    error_models: dict[str, ErrorModel2D]
    conditioning: Conditioning = field(default_factory=Conditioning)
    options: RefineOptions = field(default_factory=RefineOptions)  # the default for each call
    chunk: int | None = None  # poses per chunk (None: 32768 on the CPU, 131072 on a GPU)
    # poses per network call (None: 512 on the CPU, for its caches; the whole chunk on a GPU)
    net_chunk: int | None = None
    device: str | torch.device = "cpu"  # cpu, cuda, cuda:N or auto; inputs and results stay on the CPU
    precision: str = "float32"  # the network's: float32, or bfloat16 (autocast; geometry stays float64)
    compile: bool = False  # torch.compile the network (a GPU's first call takes ~20 s more)
    # split every network pass, whole chunks at a time, over the ranks of the process group (torchrun);
    # every rank must then make the same calls, and every rank gets the whole result
    distributed: bool = False

    def __post_init__(self) -> None:
        dev = resolve_device(str(self.device))
        if self.precision not in ("float32", "bfloat16"):
            raise BinoposeError(f"precision must be float32 or bfloat16, got {self.precision!r}")
        gpu = dev.type == "cuda"
        chunk = self.chunk if self.chunk is not None else (131072 if gpu else 32768)
        net_chunk = self.net_chunk if self.net_chunk is not None else (chunk if gpu else 512)
        net = self.net.to(dev)
        if self.compile and not hasattr(net, "_orig_mod"):  # not compiled twice (dataclasses.replace)
            net = torch.compile(net, dynamic=True)
        for name, value in (("device", dev), ("chunk", chunk), ("net_chunk", net_chunk), ("net", net)):
            object.__setattr__(self, name, value)
        if self.compile:
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
    def load(cls, path: str | os.PathLike | None = None, **settings: object) -> Refiner:
        """Load a model folder or ``model.safetensors`` (None: the default model). ``settings``: the
        refiner's (device, precision, compile, chunk, net_chunk) and :class:`RefineOptions` fields."""
        opts, settings = split_settings(settings)
        b = read_bundle(path)
        return cls(b.net, b.schedule, b.error_models, b.conditioning, opts, **settings)  # type: ignore[arg-type]

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

    def looks_stereo(self, u: Tensor, P: Tensor, options: RefineOptions | None = None) -> Tensor:
        """(B,) True where the input goes to the stereo-aware family (:func:`stereo_mask`; as the
        options' ``noise_kind`` says when it is not "auto")."""
        return stereo_mask(u, P, (options or self.options).noise_kind)

    @torch.inference_mode()
    def refine(
        self,
        kp2d: Tensor | np.ndarray,
        cameras: StereoRig | Tensor | np.ndarray,
        conf: Tensor | np.ndarray | None = None,
        options: RefineOptions | None = None,
        evidence: RunningEvidence | None = None,
    ) -> RefineResult:
        """Refine stereo 2D keypoints (one input: a recording, or any set of frames judged together).

        Args:
            kp2d: (N, 2, 17, 2) pixels of the left and right view (NaN = missing): as the cameras see
                them when ``cameras`` is a :class:`StereoRig` (its lens distortion is removed here),
                undistorted when ``cameras`` are projection matrices.
            cameras: a :class:`StereoRig`, or projection matrices (2, 3, 4) or (N, 2, 3, 4) in the
                left camera frame (mm).
            conf: optional (N, 2, 17) confidences (0 = missing).
            options: this call's options (None: the refiner's ``options``).
            evidence: for a recording that arrives a few frames per call (live): the definitions and
                the gate are then judged over the frames this object has seen, not over this call's.
        Returns:
            :class:`RefineResult`: poses (N, 17, 3) mm, the triangulation of the same input, the refined
            2D keypoints (N, 2, 17, 2), and what the do-no-harm gate found.
        """
        u, P, c = check_inputs(kp2d, cameras, conf)
        opts = options or self.options
        T = chunked(lambda a, PP, cc: triangulate(a, PP, cc), u, P, c, self.chunk)
        if opts.level_from != "family" and opts.start_sigma is None:
            opts = self.input_options(u, P, T, c, opts)

        if opts.gate != "off" and evidence is None and not has_spread(u.double(), P.double(), T, c):
            poses, report = T.clone(), GateReport(0.0, 0.0, 0.0, len(u))  # the gate's answer, no network
        else:
            poses, report = self._kept_and_gated(u, P, T, c, opts, evidence)
        kp = chunked(lambda X, PP, _: project(X, PP), poses, P, None, self.chunk)
        return RefineResult(poses, T, kp, report)

    def _kept_and_gated(
        self,
        u: Tensor,
        P: Tensor,
        T: Tensor,
        c: Tensor | None,
        opts: RefineOptions,
        evidence: RunningEvidence | None,
    ) -> tuple[Tensor, GateReport | None]:
        """The network's poses with the detector's definitions kept, then gated (:meth:`refine`)."""
        joints = kept_joints(opts.definitions)
        keep = joints is not None

        def refined(uu: Tensor, T_uu: Tensor) -> Tensor:
            F = self.network_pass(uu, P, c, opts)
            if keep and evidence is not None:
                return torch.from_numpy(evidence.keep_fixed(F.numpy(), T_uu.numpy(), joints))
            return torch.from_numpy(keep_definitions(F.numpy(), T_uu.numpy(), joints=joints)) if keep else F

        if keep and evidence is not None:  # these frames join the evidence; the probes (refined) do not
            poses = torch.from_numpy(
                evidence.keep(self.network_pass(u, P, c, opts).numpy(), T.numpy(), joints)
            )
        else:
            poses = refined(u, T)
        if opts.gate == "off":
            return poses, None
        judge = gate if evidence is None else evidence.gate
        z, parts = gate_settings(opts.gate)
        common = opts.gate_noise == "common"
        settings = {"z": z, "parts": parts, "common": common, "view_bias": opts.view_bias}
        return judge(refined, u.double(), P.double(), T, poses, c, **settings)

    def input_options(
        self, u: Tensor, P: Tensor, T: Tensor, conf: Tensor | None, options: RefineOptions
    ) -> RefineOptions:
        """``options`` with the start level (and profile) the input's own triangulation residual implies
        (:func:`binopose.refine_inputs.level_options`). u (N, 2, 17, 2), P (N, 2, 3, 4), T (N, 17, 3)
        its triangulation, conf (N, 2, 17) or None."""
        model = self.error_models.get(PER_VIEW) or next(iter(self.error_models.values()))
        return level_options(u, P, T, conf, options, model, self.chunk)

    @torch.inference_mode()
    def network_pass(
        self, u: Tensor, P: Tensor, conf: Tensor | None = None, options: RefineOptions | None = None
    ) -> Tensor:
        """The network alone (no definition keeping, no gate): undistorted (N, 2, 17, 2) and (N, 2, 3, 4)
        -> (N, 17, 3) mm float64 on the CPU, chunk by chunk on the refiner's device."""
        opts = options or self.options
        N = u.shape[0]
        P = torch.as_tensor(P).expand(N, 2, 3, 4)
        if not self.distributed:
            return self._pass(u, P, conf, opts, slice(0, N))
        # each rank a contiguous run of whole chunks: the same chunks as one process, the same numbers
        return distributed.gather_rows(self._pass(u, P, conf, opts, distributed.shard(N, self.chunk)))

    def _pass(self, u: Tensor, P: Tensor, conf: Tensor | None, opts: RefineOptions, rows: slice) -> Tensor:
        """The network's output for ``rows`` (a run of whole chunks) of u (N, 2, 17, 2), P (N, 2, 3, 4)."""
        n = rows.stop - rows.start
        # page-locked results on a GPU: copies into ordinary (pageable) memory run at a tenth of the speed
        out = torch.empty(n, NUM_JOINTS, 3, dtype=torch.float64, pin_memory=self.device.type == "cuda")
        for i in range(rows.start, rows.stop, self.chunk):  # results go straight into the output
            sl = slice(i, min(i + self.chunk, rows.stop))
            # moved in their own dtype (float32 input: half the bytes), then made float64 there
            part = (None if t is None else t[sl].to(self.device).double() for t in (u, P, conf))
            out[sl.start - rows.start : sl.stop - rows.start] = self._refine_chunk(*part, opts)
        return out

    def _refine_family(self, kind: str, inputs: tuple, opts: RefineOptions) -> SampleResult:
        """Refine poses (already under the root rule) that follow error family ``kind``: ``inputs`` are
        u (B, 2, J, 2), P (B, 2, 3, 4), baseline (B,), scale (B, 2) and conf (B, 2, J) or None."""
        u, P, baseline, scale, conf = inputs
        ev_conf = None
        if conf is not None and opts.conf_evidence == "binary":
            ev_conf = (conf >= CONF_THRESHOLD).to(conf.dtype)
        elif conf is not None and opts.conf_evidence == "ones":
            ev_conf = torch.ones_like(conf)
        model = self.error_models.get(kind) or next(iter(self.error_models.values()))
        level = model.default_level if opts.start_sigma is None else opts.start_sigma
        profile = model.joint_profile() if opts.noise_profile is None else np.asarray(opts.noise_profile)
        return refine_2d(
            self._denoise,
            u,
            P,
            baseline,
            scale,
            self.schedule.sampling_sigmas(level, opts.steps),
            opts.hypotheses,
            opts.aggregate,
            model,
            conf=conf,
            profile=self.conditioning.root_profile(torch.as_tensor(profile).to(u)),
            evidence_conf=ev_conf,
        )

    def _refine_chunk(self, u: Tensor, P: Tensor, conf: Tensor | None, opts: RefineOptions) -> Tensor:
        """(B, 17, 3) network output for one chunk, each error family at its own start level."""
        u, conf = self.conditioning.root_input(u, conf)
        scale = pose_scale_px(u)
        stereo = stereo_mask(u, P, opts.noise_kind, scale)
        inputs = (u, P, camera_baseline(P), scale, conf)
        out = torch.full((u.shape[0], NUM_JOINTS, 3), float("nan"), dtype=u.dtype, device=u.device)
        for kind, mask in ((STEREO, stereo), (PER_VIEW, ~stereo)):
            if mask.all():  # all of one family: no copies
                r = self._refine_family(kind, inputs, opts)
                out, tri = r.poses, r.triangulated
                break
            if mask.any():
                r = self._refine_family(kind, tuple(None if t is None else t[mask] for t in inputs), opts)
                out[mask] = r.poses.to(out.dtype)
        else:
            tri = triangulate(u, P, conf)
        # a joint no view pair can triangulate stays NaN (never a silent guess)
        out[~torch.isfinite(tri).all(-1)] = float("nan")
        return out
