"""Metrics against hand-computed values, their invariances, grouping and NaN handling."""

from __future__ import annotations

import numpy as np
import pytest

from binopose.metrics import (
    bone_length_error,
    bone_lengths,
    format_table,
    joint_errors,
    pose_metrics,
    procrustes_align,
    reprojection_errors,
    root_relative,
    symmetry_error,
)
from binopose.skeleton import BONES, NUM_JOINTS, ROOT


def _poses(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, NUM_JOINTS, 3)) * 300 + [0, 0, 3000]


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_mpjpe_and_rel_by_hand():
    gt = np.zeros((2, NUM_JOINTS, 3))
    pred = gt.copy()
    pred[0, 3] = [3.0, 4.0, 0.0]  # 5 mm on one joint of frame 0
    pred[1] += [0.0, 0.0, 12.0]  # frame 1: the whole pose 12 mm deeper
    m = pose_metrics(pred, gt)
    assert m["frames"] == 2
    assert m["mpjpe_mm"] == pytest.approx((5.0 + 12.0 * NUM_JOINTS) / (2 * NUM_JOINTS))
    assert m["mpjpe_rel_mm"] == pytest.approx(
        5.0 / (2 * NUM_JOINTS)
    )  # the shift is gone relative to the root
    expected_joint = [6.0] * NUM_JOINTS
    expected_joint[3] = (5.0 + 12.0) / 2
    np.testing.assert_allclose(m["per_joint_mm"], expected_joint)
    assert m["nan_joints"] == 0


def test_root_joint_is_pelvis():
    gt = _poses(1)
    pred = gt.copy()
    pred[0, ROOT] += [0.0, 30.0, 40.0]  # only the root is off: 50 mm
    assert ROOT == 6
    m = pose_metrics(pred, gt)
    # relative to the (wrong) root every other joint is off by 50 mm, the root itself by 0
    assert m["mpjpe_rel_mm"] == pytest.approx(50.0 * (NUM_JOINTS - 1) / NUM_JOINTS)
    np.testing.assert_allclose(root_relative(gt)[0, ROOT], 0.0)


def test_pa_mpjpe_zero_for_a_similar_pose_and_invariant():
    gt = _poses(3)
    R = _rotation(1)
    pred = 1.3 * gt @ R.T + [100.0, -50.0, 20.0]
    m = pose_metrics(pred, gt)
    assert m["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-8)
    assert m["mpjpe_mm"] > 100
    # with noise: PA-MPJPE does not change when the prediction is rotated, scaled and moved
    noisy = gt + np.random.default_rng(2).normal(size=gt.shape) * 20
    moved = 0.7 * noisy @ _rotation(3).T + [5.0, 6.0, 7.0]
    a, b = pose_metrics(noisy, gt), pose_metrics(moved, gt)
    assert a["pa_mpjpe_mm"] == pytest.approx(b["pa_mpjpe_mm"], rel=1e-9)
    assert 0 < a["pa_mpjpe_mm"] <= a["mpjpe_rel_mm"]
    # MPJPE-rel is invariant to translation, MPJPE is not
    shifted = noisy + [0.0, 0.0, 250.0]
    c = pose_metrics(shifted, gt)
    assert c["mpjpe_rel_mm"] == pytest.approx(a["mpjpe_rel_mm"], rel=1e-12)
    assert c["mpjpe_mm"] > a["mpjpe_mm"] + 100


def test_procrustes_by_hand_and_optimal():
    gt = np.array([[[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    pred = np.array([[[0.0, -2.0, 0.0], [0.0, 2.0, 0.0], [-2.0, 0.0, 0.0]]])  # x2, turned 90 degrees
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-12)
    # a mirror image is not a rotation: it cannot be aligned exactly
    chiral = np.concatenate([gt, [[[0.0, 0.0, 1.0]]]], 1)
    aligned = procrustes_align(chiral * [1, 1, -1], chiral)
    assert np.linalg.norm(aligned - chiral, axis=-1).mean() > 0.1
    # the alignment is a minimum: small changes of scale, rotation or shift only make it worse
    rng = np.random.default_rng(4)
    g = _poses(1, 5)
    p = 0.9 * g @ _rotation(6).T + rng.normal(size=g.shape) * 30
    best = procrustes_align(p, g)
    cost = np.sum((best - g) ** 2)
    mu = best.mean(-2, keepdims=True)
    for _ in range(20):
        u, _, vt = np.linalg.svd(np.eye(3) + rng.normal(size=(3, 3)) * 1e-3)  # a small rotation
        other = (1 + rng.normal() * 1e-3) * (best - mu) @ (u @ vt).T + mu + rng.normal(size=3)
        assert np.sum((other - g) ** 2) >= cost - 1e-6


def test_bone_length_error_by_hand():
    gt = _poses(2, 7)
    pred = gt.copy()
    # right wrist (10) is a leaf: moving it 10 mm further along its bone changes that bone only
    bone = gt[:, 10] - gt[:, 11]
    pred[:, 10] += 10.0 * bone / np.linalg.norm(bone, axis=-1, keepdims=True)
    assert len(BONES) == 16
    assert bone_length_error(pred, gt) == pytest.approx(10.0 / 16)
    assert pose_metrics(pred, gt)["bone_length_error_mm"] == pytest.approx(10.0 / 16)
    lengths = bone_lengths(gt)
    assert lengths.shape == (2, 16)
    assert lengths[0, [c for c, _ in BONES].index(10)] == pytest.approx(np.linalg.norm(bone[0]))


def test_symmetry_error_by_hand():
    X = _poses(3, 8)
    length = lambda a, b: np.linalg.norm(X[:, a] - X[:, b], axis=-1)  # noqa: E731
    # (right bone, left bone) by joint index: shin, thigh, hip, forearm, upper arm, shoulder
    pairs = [
        ((0, 1), (5, 4)),
        ((1, 2), (4, 3)),
        ((2, 6), (3, 6)),
        ((10, 11), (15, 14)),
        ((11, 12), (14, 13)),
        ((12, 8), (13, 8)),
    ]
    expected = np.mean([np.abs(length(*r) - length(*l)) for r, l in pairs])
    assert symmetry_error(X) == pytest.approx(expected)
    mirrored = X.copy()
    mirrored[:, [5, 4, 3, 15, 14, 13]] = X[:, [0, 1, 2, 10, 11, 12]] * [-1, 1, 1]
    mirrored[:, [6, 8]] = X[:, [6, 8]] * [0, 1, 1]
    assert symmetry_error(mirrored) == pytest.approx(0.0, abs=1e-9)


def test_per_subject_and_per_action():
    gt = np.zeros((4, NUM_JOINTS, 3))
    pred = gt + np.array([1.0, 2.0, 3.0, 4.0])[:, None, None] * [1.0, 0.0, 0.0]  # frame f off by f+1 mm
    m = pose_metrics(pred, gt, subject=["S1", "S1", "S2", "S2"], action=["walk", "jump", "walk", "walk"])
    assert set(m["per_subject"]) == {"S1", "S2"}
    assert m["per_subject"]["S1"]["mpjpe_mm"] == pytest.approx(1.5)
    assert m["per_subject"]["S2"]["mpjpe_mm"] == pytest.approx(3.5)
    assert m["per_action"]["walk"]["mpjpe_mm"] == pytest.approx((1 + 3 + 4) / 3)
    assert m["per_action"]["jump"]["mpjpe_mm"] == pytest.approx(2.0)
    assert m["per_action"]["jump"]["mpjpe_rel_mm"] == pytest.approx(0.0)
    assert pose_metrics(pred, gt)["per_subject"] == {}
    text = format_table({**m, "reprojection_px": [0.5, 0.25]})
    assert "S2" in text and "walk" in text and "0.50 / 0.25 px" in text


def test_nan_joints_are_counted_and_left_out():
    gt = np.zeros((2, NUM_JOINTS, 3))
    pred = gt + [0.0, 0.0, 10.0]
    pred[0, 3] = [np.nan, 0.0, 0.0]
    pred[1, 3] = [0.0, 0.0, 1000.0]
    m = pose_metrics(pred, gt, subject=["a", "a"])
    assert m["nan_joints"] == 1
    # 2 * 17 - 1 finite joints: 32 at 10 mm and one at 1000 mm
    assert m["mpjpe_mm"] == pytest.approx((32 * 10.0 + 1000.0) / 33)
    assert m["per_joint_mm"][3] == pytest.approx(1000.0)
    assert m["per_subject"]["a"]["mpjpe_mm"] == pytest.approx(m["mpjpe_mm"])
    assert "could not be estimated" in format_table(m)
    all_nan = pose_metrics(np.full_like(gt, np.nan), gt)
    assert np.isnan(all_nan["mpjpe_mm"]) and all_nan["nan_joints"] == 2 * NUM_JOINTS


def test_joint_and_reprojection_errors():
    a = np.zeros((1, 2, 3))
    b = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]]])
    np.testing.assert_allclose(joint_errors(a, b), [[5.0, 2.0]])
    uv = np.zeros((2, 2, NUM_JOINTS, 2))
    gt = uv.copy()
    gt[:, 1, :, 0] = 3.0
    assert reprojection_errors(uv, gt) == pytest.approx([0.0, 3.0])


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="pose_metrics"):
        pose_metrics(np.zeros((2, 17, 3)), np.zeros((3, 17, 3)))
