"""3D pose corpora (world frame, mm, z up, canonical 17 joints) and the training/validation split.

Readers for the two corpora in ``../shared/data``: Human3.6M training subjects
(``h36m_train/h36m_train_poses.npz``) and Bandai-Namco mocap (``bandai_namco/bandai_namco_h36m17.npz``).
Each pose gets a *group* label (subject, or clip) so that validation holds out whole groups.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from binopose.errors import BinoposeError
from binopose.io_utils import read_npz
from binopose.skeleton import NUM_JOINTS, ROOT


@dataclass(frozen=True)
class PoseCorpus:
    """(N, 17, 3) world poses in mm (z up), with a group label per pose (subject or clip)."""

    name: str
    poses: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return int(self.poses.shape[0])

    def select(self, mask: np.ndarray) -> PoseCorpus:
        return PoseCorpus(self.name, self.poses[mask], self.group[mask])


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    data = read_npz(path, "pose corpus")
    bad = [k for k, v in data.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise BinoposeError(f"pose corpus {path}: member(s) {', '.join(bad)} are not .npy arrays")
    return data


def load_corpus(path: str | os.PathLike, stride: int = 1) -> PoseCorpus:
    """Read a corpus npz with ``kp3d_world_mm`` (N, 17, 3) and ``subject`` or ``clip`` labels.

    Args:
        path: the npz file. stride: keep every ``stride``-th pose (consecutive poses are near-duplicates).
    """
    p = Path(path)
    d = _load_npz(p)
    if "kp3d_world_mm" not in d:
        raise BinoposeError(f"pose corpus {p} has no 'kp3d_world_mm' array")
    poses = d["kp3d_world_mm"]
    if poses.ndim != 3 or poses.shape[1:] != (NUM_JOINTS, 3):
        raise BinoposeError(f"pose corpus {p}: kp3d_world_mm has shape {poses.shape}, expected (N, 17, 3)")
    if poses.dtype.kind not in "fiu":
        raise BinoposeError(f"pose corpus {p}: kp3d_world_mm has dtype {poses.dtype}, expected numbers")
    for k in ("subject", "clip"):
        if k in d and d[k].shape != (len(poses),):
            raise BinoposeError(f"pose corpus {p}: {k!r} has shape {d[k].shape}, expected ({len(poses)},)")
    if "subject" in d:
        group = np.char.add(f"{p.stem}:", d["subject"].astype(str))
    elif "clip" in d:
        group = np.char.add(f"{p.stem}:clip", d["clip"].astype(str))
    else:
        group = np.full(len(poses), p.stem)
    keep = np.isfinite(poses).all((1, 2))
    sel = np.flatnonzero(keep)[::stride]
    return PoseCorpus(p.stem, poses[sel].astype(np.float32), group[sel])


def concat(corpora: list[PoseCorpus]) -> PoseCorpus:
    return PoseCorpus(
        "+".join(c.name for c in corpora),
        np.concatenate([c.poses for c in corpora]),
        np.concatenate([c.group for c in corpora]),
    )


def split_by_group(
    corpus: PoseCorpus, holdout: list[str], every_nth_clip: int = 0
) -> tuple[PoseCorpus, PoseCorpus]:
    """(train, validation): poses whose group ends with one of ``holdout`` (e.g. ``"S8"``) go to validation,
    and, if ``every_nth_clip`` > 0, every n-th clip group of clip-labelled corpora too."""
    g = corpus.group
    val = np.zeros(len(g), bool)
    for h in holdout:
        val |= np.char.endswith(g, ":" + h)
    if every_nth_clip > 0:
        is_clip = np.char.find(g, ":clip") >= 0
        ids = np.array([int(s.rsplit("clip", 1)[1]) if c else -1 for s, c in zip(g, is_clip)])
        val |= is_clip & (ids % every_nth_clip == 0)
    return corpus.select(~val), corpus.select(val)


def root_centered(poses: np.ndarray) -> np.ndarray:
    """Subtract the pelvis (joint 6) from (N, 17, 3) poses."""
    return poses - poses[:, ROOT : ROOT + 1]
