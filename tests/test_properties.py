"""Property-based tests (hypothesis): geometry round trips and NaN propagation, metric invariances, file
readers on arbitrary bytes and round trips, and the command line on random argument lists."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from binopose.cli import main
from binopose.data.benchmark import load_benchmark
from binopose.errors import BinoposeError
from binopose.geometry import project, triangulate
from binopose.geometry.rig import Camera, StereoRig, load_rig, rodrigues_to_matrix, save_rig
from binopose.io import Keypoints2D, load_keypoints_2d, load_poses, save_keypoints_2d
from binopose.metrics import pose_metrics

#: examples per property; CI runs 40, a fuzzing run sets BINOPOSE_HYPOTHESIS_EXAMPLES (docs/ROBUSTNESS.md)
EXAMPLES = int(os.environ.get("BINOPOSE_HYPOTHESIS_EXAMPLES", "40"))
FAST = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
finite = st.floats(-1.0, 1.0, allow_nan=False)


# --- geometry ---------------------------------------------------------------------------------------------
@st.composite
def rigs(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K (2,3,3), R (3,3), t (3,)) of a well-conditioned stereo rig, and its baseline (mm)."""
    Ks = []
    for _ in range(2):
        f = draw(st.floats(300, 3000))
        Ks.append(
            [
                [f, draw(st.floats(-2, 2)), draw(st.floats(200, 1000))],
                [0, f * draw(st.floats(0.9, 1.1)), draw(st.floats(200, 800))],
                [0, 0, 1],
            ]
        )
    rvec = np.array([draw(st.floats(-0.3, 0.3)) for _ in range(3)])
    baseline = draw(st.floats(50, 3000))
    direction = np.array([-1.0, draw(st.floats(-0.3, 0.3)), draw(st.floats(-0.3, 0.3))])
    t = direction / np.linalg.norm(direction) * baseline
    return np.array(Ks), rodrigues_to_matrix(rvec), t


def matrices(K: np.ndarray, R: np.ndarray, t: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.stack([K[0] @ np.eye(3, 4), K[1] @ np.c_[R, t]]))


@FAST
@given(rigs(), st.integers(0, 2**31 - 1), st.floats(1500, 8000))
def test_project_then_triangulate_returns_the_points(rig, seed, depth):
    P = matrices(*rig)
    X = torch.tensor(np.random.default_rng(seed).normal(0, 300, (4, 17, 3)) + [0, 0, depth])
    got = triangulate(project(X, P), P)
    torch.testing.assert_close(got, X, rtol=1e-6, atol=1e-4)


@FAST
@given(rigs(), arrays(np.bool_, (3, 17)), st.integers(0, 2**31 - 1))
def test_nan_out_exactly_where_fewer_than_two_views(rig, seen, seed):
    K, R, t = rig
    P = torch.cat([matrices(K, R, t), matrices(K, R, -t)[1:]])  # a third view on the other side
    X = torch.tensor(np.random.default_rng(seed).normal(0, 300, (17, 3)) + [0, 0, 4000])
    uv = project(X, P)
    uv[torch.from_numpy(~seen)] = float("nan")
    out = triangulate(uv, P)
    expect = torch.from_numpy(seen.sum(0) >= 2)
    assert torch.equal(torch.isfinite(out).all(-1), expect)
    torch.testing.assert_close(out[expect], X[expect], rtol=1e-6, atol=1e-4)


@FAST
@given(rigs(), arrays(np.float64, (2, 17), elements=st.sampled_from([0.0, 0.5, 1.0, np.nan])))
def test_zero_or_nan_confidence_is_a_missing_view(rig, conf):
    P = matrices(*rig)
    X = torch.tensor(np.random.default_rng(0).normal(0, 300, (17, 3)) + [0, 0, 4000])
    uv = project(X, P)
    c = torch.from_numpy(conf)
    a = triangulate(uv, P, c)
    uv_masked = uv.clone()
    uv_masked[~(c > 0)] = float("nan")
    b = triangulate(uv_masked, P)
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    torch.testing.assert_close(a[torch.isfinite(a)], X.expand_as(a)[torch.isfinite(a)], rtol=1e-6, atol=1e-4)


@FAST
@given(rigs(), st.floats(0.1, 100))
def test_triangulation_ignores_the_scale_of_P(rig, s):
    P = matrices(*rig)
    uv = project(torch.tensor(np.random.default_rng(1).normal(0, 300, (17, 3)) + [0, 0, 4000]), P)
    torch.testing.assert_close(triangulate(uv, P * s), triangulate(uv, P), rtol=1e-8, atol=1e-6)


# --- metrics ----------------------------------------------------------------------------------------------
poses = arrays(np.float64, (3, 17, 3), elements=st.floats(-2000, 2000, allow_nan=False))


def random_rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@FAST
@given(poses, poses, arrays(np.float64, (3,), elements=st.floats(-1e4, 1e4)))
def test_metrics_are_non_negative_and_translation_invariant(pred, gt, shift):
    m = pose_metrics(pred, gt)
    for k in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm", "bone_length_error_mm", "symmetry_error_mm"):
        assert m[k] >= 0 or math.isnan(m[k])
    assert all(v >= 0 for v in m["per_joint_mm"])
    moved = pose_metrics(pred + shift, gt + shift)
    for k in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm"):
        assert moved[k] == pytest.approx(m[k], rel=1e-6, abs=1e-5)
    rel = pose_metrics(pred + shift, gt)  # MPJPE-rel ignores where the prediction is
    assert rel["mpjpe_rel_mm"] == pytest.approx(m["mpjpe_rel_mm"], rel=1e-6, abs=1e-5)
    assert pose_metrics(gt, gt)["mpjpe_mm"] == 0


@FAST
@given(poses, st.integers(0, 2**31 - 1), st.floats(0.2, 5))
def test_pa_mpjpe_ignores_a_similarity_of_the_prediction(gt, seed, scale):
    gt = gt + np.random.default_rng(seed).normal(0, 300, gt.shape)  # non-degenerate shapes
    pred = gt + np.random.default_rng(seed + 1).normal(0, 20, gt.shape)
    R = random_rotation(seed)
    a = pose_metrics(pred, gt)["pa_mpjpe_mm"]
    b = pose_metrics(scale * pred @ R.T + [100, -50, 7], gt)["pa_mpjpe_mm"]
    assert b == pytest.approx(a, rel=1e-5, abs=1e-6)
    assert a <= pose_metrics(pred, gt)["mpjpe_rel_mm"] * 1.5 + 1e-9


@FAST
@given(poses, arrays(np.bool_, (3, 17)))
def test_nan_joints_are_counted_not_scored(pred, missing):
    gt = pred.copy()
    pred = pred.copy()
    pred[missing] = np.nan
    m = pose_metrics(pred, gt)
    assert m["nan_joints"] == int(missing.sum())
    assert m["mpjpe_mm"] == 0 or (math.isnan(m["mpjpe_mm"]) and missing.all())


# --- file readers -----------------------------------------------------------------------------------------
READERS = {
    ".npz": (load_benchmark, load_keypoints_2d, load_poses),
    ".json": (load_keypoints_2d, load_poses),
    ".toml": (load_rig,),
    ".csv": (load_poses,),
}


@FAST
@given(st.binary(max_size=600), st.sampled_from(sorted(READERS)))
def test_readers_refuse_arbitrary_bytes_with_one_error(tmp_path, data, suffix):
    f = tmp_path / f"x{suffix}"
    f.write_bytes(data)
    for read in READERS[suffix]:
        try:
            read(f)
        except BinoposeError:
            pass


@FAST
@given(st.text(max_size=300), st.sampled_from([".json", ".toml", ".csv"]))
def test_readers_refuse_arbitrary_text(tmp_path, text, suffix):
    f = tmp_path / f"x{suffix}"
    f.write_text(text, encoding="utf-8", errors="surrogatepass" if False else "strict")
    for read in READERS[suffix]:
        try:
            read(f)
        except BinoposeError:
            pass


@FAST
@given(rigs(), st.sampled_from(["m", "mm", "cm"]), st.integers(100, 4000), st.integers(100, 4000))
def test_rig_toml_round_trip(tmp_path, rig, units, w, h):
    K, R, t = rig
    left = Camera("cam 1", (w, h), K[0], dist=[0.1, -0.01, 0.001, 0.0, 0.002])
    right = Camera("cam2", (w, h), K[1], R=R, t=t)
    save_rig(StereoRig(left, right), tmp_path / "r.toml", units)
    back = load_rig(tmp_path / "r.toml")
    for a, b in ((left, back.left), (right, back.right)):
        assert (a.name, a.size) == (b.name, b.size)
        np.testing.assert_allclose(b.K, a.K, rtol=1e-12)
        np.testing.assert_allclose(b.R, a.R, atol=1e-9)  # via a rotation vector: ~1e-11 at tiny angles
        np.testing.assert_allclose(b.t, a.t, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b.dist, a.dist)


@FAST
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2), st.just(17), st.just(2)),
           elements=st.one_of(st.floats(-1e4, 1e4), st.just(np.nan))),
    st.sampled_from([".npz", ".json"]),
)  # fmt: skip
def test_keypoint_file_round_trip_keeps_nan(tmp_path, kp, suffix):
    conf = np.where(np.isnan(kp[..., 0]), 0.0, 0.5)
    save_keypoints_2d(tmp_path / f"k{suffix}", Keypoints2D(kp, conf, None, {"n": 1}))
    back = load_keypoints_2d(tmp_path / f"k{suffix}")
    np.testing.assert_allclose(back.kp2d, kp.astype(np.float32), equal_nan=True)
    np.testing.assert_allclose(back.conf, conf)
    assert back.meta == {"n": 1}


@FAST
@given(
    st.sampled_from(["kp2d_pred", "K", "R_right_from_left", "t_right_from_left_mm"]),
    st.sampled_from(["drop", "nan", "zero", "shape", "str", "empty", "mirror"]),
)
def test_benchmark_with_a_broken_required_array_is_refused(tmp_path, key, how):
    n = 3
    arrays_ = dict(
        kp2d_pred=np.zeros((n, 2, 17, 2)),
        K=np.broadcast_to(np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]]), (n, 2, 3, 3)).copy(),
        R_right_from_left=np.broadcast_to(np.eye(3), (n, 3, 3)).copy(),
        t_right_from_left_mm=np.tile([-300.0, 0, 0], (n, 1)),
    )
    a = arrays_[key]
    if how == "drop":
        del arrays_[key]
    elif how == "nan":
        a[...] = np.nan
    elif how == "zero":
        a[...] = 0
    elif how == "shape":
        arrays_[key] = a[..., :1]
    elif how == "mirror":
        a[..., -1, :] *= -1  # K: a negative row; R: a reflection; t: mirrored (valid); kp: valid
    elif how == "str":
        arrays_[key] = np.full(a.shape, "x")
    else:
        arrays_[key] = a[:0]
    np.savez(tmp_path / "b.npz", **arrays_)
    if (key == "kp2d_pred" and how in ("nan", "zero", "mirror")) or (
        key == "t_right_from_left_mm" and how == "mirror"
    ):
        assert len(load_benchmark(tmp_path / "b.npz")) == n  # missing/degenerate 2D loads; NaN out later
        return
    with pytest.raises(BinoposeError):
        load_benchmark(tmp_path / "b.npz")


# --- command line -----------------------------------------------------------------------------------------
WORDS = [
    "eval", "refine", "run", "calibrate", "train", "--help", "--json", "--method", "triangulate",
    "dualdiff", "--protocol", "raw", "official", "cross-subject", "--rig", "--out", "--model", "--steps",
    "-1", "0", "nan", "1e99", "--left", "--right", "--fps", "--smooth", "oneeuro", "--cameras", "a",
    "{garbage}", "{missing}", "{dir}", "{out}", "--", "-x", "", "é", "--version",
]  # fmt: skip


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("cli")
    (d / "garbage.npz").write_bytes(os.urandom(200))
    return {"garbage": str(d / "garbage.npz"), "missing": str(d / "missing.npz"), "dir": str(d),
            "out": str(d / "out" / "o.json")}  # fmt: skip


@settings(max_examples=EXAMPLES * 5 // 4, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=7))
def test_random_argv_exits_0_or_2_without_traceback(cli_files, argv):
    argv = [a.format(**cli_files) for a in argv]
    if argv[:1] == ["train"] and "--help" not in argv:
        argv = argv + ["--help"]  # never start a real training run
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    assert rc in (0, 2, None), argv


def test_cli_help_of_every_command(capsys):
    from binopose.cli import COMMANDS

    for name in COMMANDS:
        with pytest.raises(SystemExit) as e:
            main([name, "--help"])
        assert e.value.code == 0
    assert Path  # keep the import used


# --- strict JSON and .npz headers (issue 17) --------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


def _nulls(v: object) -> object:
    if isinstance(v, dict):
        return {k: _nulls(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_nulls(x) for x in v]
    return None if isinstance(v, float) and not math.isfinite(v) else v


@FAST
@given(json_values)
def test_json_text_is_strict_and_keeps_every_finite_value(value):
    import json

    from binopose.io_utils import json_text

    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in the JSON")

    assert json.loads(json_text(value), parse_constant=refuse) == _nulls(value)


@FAST
@given(
    st.lists(st.integers(0, 10**12), max_size=4),
    st.sampled_from(["<f4", "<f8", "<i8", "|u1"]),
    st.integers(0, 4096),
)
def test_npz_header_never_decides_the_allocation(tmp_path, shape, descr, payload):
    """A member's .npy header claims any shape over any payload: the reader returns arrays of the
    claimed shape only when the payload holds them, and never allocates what the header alone claims."""
    import zipfile

    from binopose.io_utils import read_npz

    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as z, z.open("a.npy", "w") as m:
        np.lib.format.write_array_header_1_0(
            m, {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
        )
        m.write(b"\1" * payload)
    need = math.prod(shape) * np.dtype(descr).itemsize
    # numpy cannot represent a shape whose non-zero sizes overflow, even with a 0 among them (found
    # by the 1000-example run: (0, 10**12, 10**12)); that too must be one BinoposeError
    span = math.prod(d for d in shape if d) * np.dtype(descr).itemsize
    if need > payload or span >= 2**63:
        with pytest.raises(BinoposeError):
            read_npz(path, "file")
    else:
        assert read_npz(path, "file")["a"].shape == tuple(shape)
