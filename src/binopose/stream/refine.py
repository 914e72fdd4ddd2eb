"""The refiner over more frames than fit in memory, with the poses of one :meth:`Refiner.refine` call.

Two steps of a refine call need the whole input (:mod:`binopose.guard`): keeping the detector's joint
definitions takes out the mean body-frame correction of *all* frames, and the do-no-harm gate's
shrinkage comes from the noise variance of all frames' triangulation residuals and a Stein risk summed
over all frames. Here they are computed from their sums, in passes over blocks of the refiner's own
chunk (``Refiner.chunk``: the network draws its hypotheses per chunk, so the blocks are the ones one call
makes):

1. per block: triangulation T, network output F, the sums of the definitions' mean and of the
   residual variance; F and T are written to a temporary spill file;
2. per probe round and block: the probes (the same random numbers as one call draws: :class:`Normals`),
   the probed network output F_p and the sums of its definitions' mean; F_p spilled;
3. per probe round and block: each frame's Stein terms (:func:`binopose.guard.stein_terms`), added into
   :class:`binopose.guard.SteinSums` (with one probe round, which every input over 256 frames has, no
   per-frame term is kept; with more, each frame's terms are kept to average its rounds), from which
   the shrinkage alpha comes (one number, or one per joint for the gate "lcb-joints");
4. per block: ``T + alpha * (kept - T)`` from the spill.

Sums over blocks add in another order than sums over the whole input: the poses agree with one call's to
rounding (``tests/test_streaming.py``: below 1e-9 mm). An input of one block is one plain call.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from binopose.geometry import triangulate
from binopose.guard import (
    COMMON_SEED,
    PROBE_SCALE,
    FrameTerms,
    GateReport,
    NoiseModel,
    ResidualSums,
    Split,
    SteinSums,
    blend,
    gate_settings,
    held_parts,
    probe_count,
    probe_step,
    report,
    residual_terms,
    stein_terms,
)
from binopose.offsets import KEEP_PRIOR_FRAMES, body_corrections, kept_joints, remove_body_offset

#: a fresh iterator over the rows in order: (uv (n, 2, 17, 2), conf (n, 2, 17) or None, P (n, 2, 3, 4))
Rows = Callable[[], Iterator[tuple[Tensor, "Tensor | None", Tensor]]]


class Normals:
    """``torch.randn(total, generator=gen, dtype=float64)`` handed out in pieces of any size, with the
    numbers of the one call. The CPU generator fills 16 numbers at a time from 16 uniforms (and a tail
    not a multiple of 16 from 16 fresh ones), so pieces drawn in multiples of 16, the last one at least
    16 long and holding the tail, are the whole draw cut up (``tests/test_streaming.py`` checks it)."""

    def __init__(self, total: int, gen: torch.Generator) -> None:
        self.left, self.gen, self.buf = total, gen, torch.empty(0, dtype=torch.float64)

    def take(self, k: int) -> Tensor:
        while len(self.buf) < k:
            piece = -(-(k - len(self.buf)) // 16) * 16
            if self.left - piece < 16:  # the last piece: all the rest
                piece = self.left
            more = torch.randn(piece, generator=self.gen, dtype=torch.float64)
            self.buf, self.left = torch.cat([self.buf, more]), self.left - piece
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


class _Spill:
    """float64 arrays of (rows, 17, 3) written in order and read back in the same order."""

    def __init__(self, folder: Path | None) -> None:
        if folder is not None:  # the output's folder, made as the output's writer would make it
            folder.mkdir(parents=True, exist_ok=True)
        self.f = tempfile.TemporaryFile(dir=folder, prefix=".binopose-spill-")

    def write(self, a: np.ndarray) -> None:
        self.f.write(np.ascontiguousarray(a, np.float64).tobytes())

    def rewind(self) -> None:
        self.f.seek(0)

    def read(self, n: int) -> np.ndarray:
        return np.frombuffer(self.f.read(n * 51 * 8), np.float64).reshape(n, 17, 3).copy()

    def close(self) -> None:
        self.f.close()


def _blocks(rows: Rows, size: int) -> Iterator[tuple[Tensor, Tensor | None, Tensor]]:
    """The rows re-cut into blocks of ``size`` (the last one shorter)."""
    parts: list = []
    held = 0
    cat = lambda k: None if parts[0][k] is None else torch.cat([p[k] for p in parts])  # noqa: E731
    for part in rows():
        if len(part[0]):
            parts.append(part)
            held += len(part[0])
        while held >= size:
            whole = [cat(k) for k in range(3)]
            yield tuple(None if t is None else t[:size] for t in whole)  # type: ignore[misc]
            parts = [tuple(None if t is None else t[size:] for t in whole)]
            held -= size
    if held:
        yield tuple(cat(k) for k in range(3))  # type: ignore[misc]


def _double(c: Tensor | None) -> Tensor | None:
    return None if c is None else c.double()


class _DefSums:
    """The sums behind the definitions' mean (:func:`binopose.offsets.keep_definitions`), block by block."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.n = 0

    def add(self, F: np.ndarray, T: np.ndarray) -> None:
        _, d, ok = body_corrections(F, T)
        if ok.any():
            total = d.sum(0)
            self.total = total if self.total is None else self.total + total
            self.n += int(ok.sum())

    def part(self) -> np.ndarray:
        """s = mean_n d_n * N / (N + prior), as :func:`binopose.offsets.keep_definitions` computes it."""
        if self.total is None:
            return np.zeros((17, 3))
        n = float(self.n)
        return self.total / self.n * n / (n + KEEP_PRIOR_FRAMES)


class GatedRefinement:
    """One :meth:`Refiner.refine` call's poses for the rows ``rows`` gives, a block at a time (module
    docstring). :meth:`poses` runs the passes and hands out the poses; :meth:`fit` runs the passes alone,
    after which :meth:`apply` refines blocks of the same rows (in the same order, cut at multiples of
    the refiner's chunk: where its hypotheses are drawn). ``report`` holds what the gate found."""

    def __init__(
        self, refiner: object, rows: Rows, options: object | None = None, spill_dir: str | Path | None = None
    ) -> None:
        self.ref, self.rows = refiner, rows
        self.spill_dir = None if spill_dir is None else Path(spill_dir)
        self.opts = options or refiner.options  # type: ignore[attr-defined]
        self.size = int(refiner.chunk)  # type: ignore[attr-defined]
        self.joints = kept_joints(self.opts.definitions)
        self.keep = self.joints is not None
        self.report: GateReport | None = None
        self.s = np.zeros((17, 3))  # the definitions' part
        self.alpha: float | Tensor | Split | None = None  # None: no gate; (J,) per joint; or position/shape
        self.tri_only = False  # the gate found no evidence: the triangulation itself
        self.spills: list[_Spill] = []

    def _net(self, u: Tensor, c: Tensor | None, P: Tensor) -> np.ndarray:
        return self.ref.network_pass(u, P, c, self.opts).numpy()  # type: ignore[attr-defined]

    def _kept(self, F: np.ndarray, T: np.ndarray, s: np.ndarray) -> Tensor:
        if not self.keep:
            return torch.from_numpy(F)
        R, _, ok = body_corrections(F, T)
        return torch.from_numpy(remove_body_offset(F, R, s, ok, self.joints, T))

    def _combined(self, F: np.ndarray, T: Tensor) -> Tensor:
        if self.alpha is not None and self.tri_only:
            return T
        kept = self._kept(F, T.numpy(), self.s)
        return kept if self.alpha is None else blend(T, kept, self.alpha)

    def apply(self, u: Tensor, c: Tensor | None, P: Tensor) -> Tensor:
        """The refined poses (float64) of a block of the rows, after :meth:`fit`."""
        T = triangulate(u.double(), P.double(), _double(c))
        return self._combined(self._net(u, c, P), T)

    def poses(self) -> Iterator[Tensor]:
        """The refined poses (float64), a block at a time, after the passes over the input."""
        blocks = _blocks(self.rows, self.size)
        one = next(blocks, None)
        if one is None:
            return
        if next(blocks, None) is None:  # one block: one plain call
            res = self.ref.refine(one[0], one[2], one[1], options=self.opts)  # type: ignore[attr-defined]
            self.report = res.gate
            yield res.poses.detach().double()
            return
        del blocks
        try:
            self.fit(keep_spills=True)
            sF, sT = self.spills
            for u, _, _ in _blocks(self.rows, self.size):
                yield self._combined(sF.read(len(u)), torch.from_numpy(sT.read(len(u))))
        finally:
            self.close()

    def close(self) -> None:
        for sp in self.spills:
            sp.close()
        self.spills = []

    def fit(self, keep_spills: bool = False) -> GatedRefinement:
        """The passes: the definitions' part, the gate's shrinkage (``keep_spills``: the network output
        and triangulation of every row stay in the spill files, rewound, for :meth:`poses`)."""
        sF, sT = _Spill(self.spill_dir), _Spill(self.spill_dir)
        self.spills = [sF, sT]
        try:
            n, self.s, noise = self._first_pass(sF, sT)
            if self.opts.gate != "off":
                noise_rel = float(noise.var().mean().sqrt())
                self.report = GateReport(0.0, noise_rel, 0.0, n)
                self.tri_only = not noise_rel > 0
                model = noise.noise(self.opts.gate_noise == "common")
                z, parts = gate_settings(self.opts.gate)
                parts = held_parts(parts, noise, self.opts.view_bias)
                self.alpha = 0.0 if self.tri_only else self._alpha(n, model, (z, parts), sF, sT)
        finally:
            if not keep_spills:
                self.close()
        for sp in self.spills:
            sp.rewind()
        return self

    def _first_pass(self, sF: _Spill, sT: _Spill) -> tuple[int, np.ndarray, ResidualSums]:
        """Network output and triangulation spilled; the definitions' part and the residual sums."""
        defs, n, res = _DefSums(), 0, ResidualSums.zero()
        for u, c, P in _blocks(self.rows, self.size):
            T = triangulate(u.double(), P.double(), _double(c))
            F = self._net(u, c, P)
            if self.keep:
                defs.add(F, T.numpy())
            res = res + ResidualSums.of(*residual_terms(u.double(), P.double(), T, c))
            sF.write(F)
            sT.write(T.numpy())
            n += len(u)
        return n, defs.part(), res

    def _probes(self, n: int, noise: NoiseModel) -> Iterator[tuple[int, Tensor | None, Tensor, Tensor]]:
        """(round, conf, P, probed uv float64) per block, round after round: the random numbers of
        :func:`binopose.guard.gate` (one generator, a (N, 2, 17, 2) draw per round; the shared part
        from a second one, a (N, 2, 1, 2) draw per round)."""
        gen, gen_c = torch.Generator().manual_seed(0), torch.Generator().manual_seed(COMMON_SEED)
        for r in range(probe_count(n)):
            normals, shared = Normals(n * 68, gen), Normals(n * 4, gen_c)
            for u, c, P in _blocks(self.rows, self.size):
                ud = u.double()
                z = normals.take(ud.numel()).view(ud.shape)
                z_c = shared.take(len(ud) * 4).view(-1, 2, 1, 2) if noise.common_var > 0 else None
                yield r, c, P.double(), ud + probe_step(ud, noise, z, z_c)

    def _alpha(
        self, n: int, noise: NoiseModel, settings: tuple[float, str], sF: _Spill, sT: _Spill
    ) -> float | Tensor | Split:
        rounds = probe_count(n)
        sP = _Spill(self.spill_dir)
        try:
            parts = [_DefSums() for _ in range(rounds)]
            for r, c, P, up in self._probes(n, noise):
                F_p = self._net(up, c, P)
                if self.keep:
                    parts[r].add(F_p, triangulate(up, P, c).numpy())
                sP.write(F_p)
            sums = self._terms(n, [p.part() for p in parts], noise, (sF, sT, sP))
        finally:
            sP.close()
        alpha, risk = sums.shrinkage(*settings)
        self.report = report(alpha, self.report.noise_rel, risk, n)  # type: ignore[union-attr]
        return alpha

    def _terms(
        self, n: int, s_p: list[np.ndarray], noise: NoiseModel, spills: tuple[_Spill, _Spill, _Spill]
    ) -> SteinSums:
        """The frames' Stein terms (:func:`binopose.guard.stein_terms`), summed: as they come with one
        probe round; with more, each frame's rounds are averaged first (fewer than 256 frames)."""
        sF, sT, sP = spills
        sP.rewind()
        rounds = probe_count(n)
        sums = SteinSums.zero()
        per_round: list[FrameTerms] = []
        joints, at = 0, -1
        for r, c, P, up in self._probes(n, noise):
            if r != at:  # a new round reads the unprobed rows again
                sF.rewind()
                sT.rewind()
                at = r
            m = len(up)
            T, T_p = torch.from_numpy(sT.read(m)), triangulate(up, P, c)
            kept = self._kept(sF.read(m), T.numpy(), self.s)
            kept_p = self._kept(sP.read(m), T_p.numpy(), s_p[r])
            d_tri, delta = T_p - T, kept - T
            t = stein_terms(delta, (kept_p - kept) - d_tri, d_tri, PROBE_SCALE)
            finite = int(torch.isfinite(delta).all(-1).sum()) if r == 0 else 0
            if rounds == 1:
                sums = sums + SteinSums.of(t, finite)
                continue
            per_round.append(t)
            joints += finite
        if rounds == 1:
            return sums
        first = per_round[: len(per_round) // rounds]  # round 0's blocks: the squared corrections
        Q, Qm = torch.cat([t.Q for t in first]), torch.cat([t.Qm for t in first])
        D = torch.cat([t.D for t in per_round]).view(rounds, n, -1).mean(0)
        Dm = torch.cat([t.Dm for t in per_round]).view(rounds, n).mean(0)
        return SteinSums.of(FrameTerms(Q, D, Qm, Dm), joints)
