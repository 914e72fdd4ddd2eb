"""``binopose eval`` end to end on small synthetic benchmark files, on the real MHAD file when present,
and on bad input (one line on stderr, exit code 2, no traceback)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from binopose.cli import main
from binopose.geometry import project

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MHAD = DATA / "mhad_stereo_test.npz"
KEYS = (
    "method",
    "protocol",
    "frames",
    "mpjpe_mm",
    "mpjpe_rel_mm",
    "pa_mpjpe_mm",
    "per_subject",
    "per_action",
    "per_joint_mm",
)


def _yaw(a: float) -> np.ndarray:
    return np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])


def make_benchmark(
    noise_px: float = 0.0, bias_px: float = 0.0, n_per: int = 6, seed: int = 0
) -> dict[str, np.ndarray]:
    """A small ``*_stereo_test.npz`` dict: 2 subjects x 3 actions x ``n_per`` frames; even frames come
    from a rectified 200 mm pair, odd frames from a 300 mm convergent pair; skewed per-frame K."""
    rng = np.random.default_rng(seed)
    subjects, actions = ["S1", "S2"], ["walk", "jump", "wave"]
    subject = np.repeat(subjects, len(actions) * n_per)
    action = np.tile(np.repeat(actions, n_per), len(subjects))
    n = len(subject)
    kp3d = (
        rng.normal(size=(n, 17, 3)) * 250 + [0.0, 0.0, 3500.0] + rng.normal(size=(n, 1, 3)) * [300, 100, 300]
    )
    K = np.zeros((n, 2, 3, 3))
    K[..., 0, 0] = rng.uniform(900, 1100, (n, 1))
    K[..., 1, 1] = K[..., 0, 0] * 1.02
    K[..., 0, 1] = 1.5  # skew
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = 192.0, 190.0, 1.0
    R = np.stack([np.eye(3) if i % 2 == 0 else _yaw(0.1) for i in range(n)])
    t = np.stack([[-200.0, 0.0, 0.0] if i % 2 == 0 else [-300.0, 5.0, 20.0] for i in range(n)])
    P = np.empty((n, 2, 3, 4))
    P[:, 0] = K[:, 0] @ np.concatenate([np.eye(3), np.zeros((3, 1))], 1)
    P[:, 1] = K[:, 1] @ np.concatenate([R, t[:, :, None]], 2)
    kp2d_gt = project(torch.from_numpy(kp3d), torch.from_numpy(P)).numpy()
    kp2d_pred = kp2d_gt + bias_px + noise_px * rng.normal(size=kp2d_gt.shape)
    err = kp2d_pred - kp2d_gt
    return {
        "kp2d_pred": kp2d_pred.astype(np.float32),
        "kp2d_gt": kp2d_gt.astype(np.float32),
        "kp3d_gt": kp3d.astype(np.float32),
        "K": K.astype(np.float32),
        "R_right_from_left": R,
        "t_right_from_left_mm": t,
        "baseline_mm": np.linalg.norm(t, axis=-1),
        "R_world_to_left": np.broadcast_to(np.eye(3), (n, 3, 3)).copy(),
        "t_world_to_left_mm": np.zeros((n, 3)),
        "subject": subject,
        "action": action,
        "stereo_pair": np.where(np.arange(n) % 2 == 0, "rect", "conv"),
        "pred2d_err_mean_px": err.mean(0).astype(np.float32),
        "pred2d_err_scale_px": err.std(0).astype(np.float32),
        "joint_names": np.array([f"j{i}" for i in range(17)]),
        "parents": np.array([1, 2, 6, 6, 3, 4, -1, 6, 7, 16, 11, 12, 8, 8, 13, 14, 8]),
        "root_joint": np.array(6),
    }


def _write(tmp_path: Path, arrays: dict[str, np.ndarray], name: str = "synth_stereo_test.npz") -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("protocol", ["raw", "official", "cross-subject"])
def test_noise_free_input_gives_zero_error(tmp_path, capsys, protocol):
    data = _write(tmp_path, make_benchmark())
    out_json = tmp_path / "out.json"
    code, out, err = _run(
        ["eval", str(data), "--method", "triangulate", "--protocol", protocol, "--json", str(out_json)],
        capsys,
    )
    assert code == 0, err
    assert "overall" in out and "S1" in out and "walk" in out
    result = json.loads(out_json.read_text())
    for key in KEYS:
        assert key in result, key
    assert (result["method"], result["protocol"], result["frames"]) == ("triangulate", protocol, 36)
    for key in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm"):
        assert result[key] < 0.05, (key, result[key])  # float32 pixels in the file
    assert set(result["per_subject"]) == {"S1", "S2"}
    assert set(result["per_action"]) == {"walk", "jump", "wave"}
    assert len(result["per_joint_mm"]) == 17
    assert result["nan_joints"] == 0


def test_bias_is_removed_where_the_protocol_allows(tmp_path, capsys):
    """A constant 2D bias: raw triangulation is off, official and cross-subject subtract it."""
    data = _write(tmp_path, make_benchmark(bias_px=3.0))
    results = {}
    for protocol in ("raw", "official", "cross-subject"):
        out_json = tmp_path / f"{protocol}.json"
        assert _run(["eval", str(data), "--protocol", protocol, "--json", str(out_json)], capsys)[0] == 0
        results[protocol] = json.loads(out_json.read_text())
    assert results["raw"]["mpjpe_mm"] > 5.0
    assert results["official"]["mpjpe_mm"] < 0.05
    assert results["cross-subject"]["mpjpe_mm"] < 0.05
    out_json = tmp_path / "none.json"
    assert (
        _run(
            ["eval", str(data), "--protocol", "official", "--bias", "none", "--json", str(out_json)], capsys
        )[0]
        == 0
    )
    assert json.loads(out_json.read_text())["mpjpe_mm"] == pytest.approx(results["raw"]["mpjpe_mm"])


def test_noisy_input_per_subject_and_labels(tmp_path, capsys):
    data = _write(tmp_path, make_benchmark(noise_px=1.0, bias_px=1.0, seed=3))
    out_json = tmp_path / "out.json"
    code, out, _ = _run(["eval", str(data), "--protocol", "cross-subject", "--json", str(out_json)], capsys)
    assert code == 0
    result = json.loads(out_json.read_text())
    assert 1.0 < result["mpjpe_mm"] < 200.0
    assert result["pa_mpjpe_mm"] <= result["mpjpe_rel_mm"]
    assert "official protocol" not in out
    # the 2D error before (the detector's: |(1, 1) + N(0, 1)| ~ 2.0 px) and after (the reprojections)
    assert result["input_2d_px"] == pytest.approx([2.0, 2.0], abs=0.25)
    assert len(result["reprojection_px"]) == 2 and "the detector's 2D" in out


@pytest.mark.skipif(not MHAD.is_file(), reason="shared MHAD data not available")
@pytest.mark.parametrize(
    "protocol, expected", [("raw", (35.26, 102.56, 27.66)), ("official", (28.48, 39.01, 21.40))]
)
def test_mhad_reference_numbers(tmp_path, capsys, protocol, expected):
    out_json = tmp_path / "mhad.json"
    code, out, err = _run(
        ["eval", str(MHAD), "--method", "triangulate", "--protocol", protocol, "--json", str(out_json)],
        capsys,
    )
    assert code == 0, err
    result = json.loads(out_json.read_text())
    got = (result["mpjpe_mm"], result["mpjpe_rel_mm"], result["pa_mpjpe_mm"])
    assert got == pytest.approx(expected, abs=0.01), got
    assert result["frames"] == 10540 and result["nan_joints"] == 0
    if protocol == "official":
        assert "test-set 2D statistics" in out
        assert result["per_subject"]["S08"]["mpjpe_mm"] == pytest.approx(32.09, abs=0.01)
        assert result["per_subject"]["S11"]["mpjpe_mm"] == pytest.approx(25.63, abs=0.01)


def _bad(tmp_path: Path, **changes) -> Path:
    arrays = make_benchmark(n_per=2)
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v(arrays[k]) if callable(v) else v
    return _write(tmp_path, arrays, "bad_stereo_test.npz")


def _set(index, value):
    def change(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[index] = value
        return a

    return change


@pytest.mark.parametrize(
    "make, argv_extra, message",
    [
        (lambda p: p / "missing.npz", [], "not found"),
        (lambda p: (p / "text.npz").write_text("hello") and p / "text.npz", [], "not a readable .npz"),
        (lambda p: _bad(p, kp2d_pred=lambda a: a[:, :, :16]), [], "kp2d_pred"),
        (lambda p: _bad(p, K=lambda a: a[:, :1]), [], "'K'"),
        (lambda p: _bad(p, kp3d_gt=lambda a: a[:5]), [], "kp3d_gt"),
        (lambda p: _bad(p, t_right_from_left_mm=None), [], "t_right_from_left_mm"),
        (lambda p: _bad(p, K=_set((0, 1, 0, 0), np.nan)), [], "camera matrix K"),
        (lambda p: _bad(p, K=_set((2, 0), 0.0)), [], "singular"),
        (lambda p: _bad(p, t_right_from_left_mm=_set(1, 0.0)), [], "zero stereo baseline"),
        (lambda p: _bad(p, R_right_from_left=_set((0, 0, 0), np.inf)), [], "non-finite"),
        (lambda p: _bad(p, kp3d_gt=None), [], "kp3d_gt"),
        (lambda p: _bad(p, subject=lambda a: a[:3]), [], "'subject'"),
        (lambda p: _bad(p, pred2d_err_mean_px=None), ["--protocol", "official"], "pred2d_err_mean_px"),
        (
            lambda p: _bad(p, subject=lambda a: np.full_like(a, "S1")),
            ["--protocol", "cross-subject"],
            "2 subjects",
        ),
        (lambda p: _bad(p), ["--protocol", "nonsense"], "unknown protocol 'nonsense'"),
        (lambda p: _bad(p), ["--method", "magic"], "unknown method 'magic'"),
        (lambda p: _bad(p), ["--bias", "wrong"], "invalid choice"),
        (lambda p: _bad(p), ["--root", "nose"], "invalid choice"),
        (lambda p: _bad(p), ["--method", "dualdiff", "--device", "tpu"], "device must be"),
        pytest.param(
            lambda p: _bad(p),
            ["--method", "dualdiff", "--device", "cuda"],
            "no CUDA GPU",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here"),
        ),
        (lambda p: _bad(p), ["--method", "dualdiff", "--level", "calibrated"], "needs a protocol"),
        (lambda p: _bad(p), ["--method", "dualdiff", "--start-sigma", "-1"], "positive noise level"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make, argv_extra, message):
    path = make(tmp_path)
    try:
        code = main(["eval", str(path), *argv_extra])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err, err


@pytest.mark.parametrize("argv", [["--help"], ["eval", "--help"]])
def test_help_exits_0(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: binopose" in out
    if argv[0] == "eval":
        assert "--protocol" in out and "cross-subject" in out and "--json" in out


def test_no_command_prints_help_and_exit_2(capsys):
    assert main([]) == 2
    assert "usage: binopose" in capsys.readouterr().out


def test_root_from_hips_ignores_the_detected_pelvis(tmp_path, capsys):
    clean = make_benchmark()
    moved = {k: v.copy() for k, v in clean.items()}
    moved["kp2d_pred"][:, :, 6] += np.float32(20.0)  # the detector's pelvis is off
    got = {}
    for name, arrays in (("clean", clean), ("moved", moved)):
        (tmp_path / name).mkdir()
        data = _write(tmp_path / name, arrays)
        for root in ("detected", "hips"):
            out_json = tmp_path / f"{name}_{root}.json"
            argv = ["eval", str(data), "--root", root, "--json", str(out_json)]
            assert _run(argv, capsys)[0] == 0
            got[name, root] = json.loads(out_json.read_text())["mpjpe_mm"]
    assert got["moved", "detected"] > got["clean", "detected"] + 1.0
    assert got["moved", "hips"] == pytest.approx(got["clean", "hips"], abs=1e-6)


def test_calibrated_level_is_chosen_on_the_other_subjects(tmp_path, capsys):
    """Noise-free input: refinement can only move poses away from the truth, so the level fitted on the
    other subject's frames is at the low end of the grid, and the result beats a high fixed level."""
    from binopose.data.benchmark import load_benchmark, protocol_folds
    from binopose.evaluate import LEVEL_GRID, _input_2d, calibrate_level
    from binopose.refiner import Refiner

    bench = load_benchmark(_write(tmp_path, make_benchmark(n_per=4)))
    fold = protocol_folds(bench, "cross-subject")[0]
    assert fold.stats.frames is not None and fold.stats.frames.kp3d_gt is not None
    ref = Refiner.load()
    level = calibrate_level(ref, fold.stats.frames, _input_2d(fold.stats.frames, fold.stats, "none"))
    assert LEVEL_GRID[0] <= level <= LEVEL_GRID[2]
    got = {}
    for extra in (["--level", "calibrated"], ["--no-match-noise", "--start-sigma", "1.3"]):
        out_json = tmp_path / "out.json"
        argv = ["eval", str(bench.path), "--method", "dualdiff", "--protocol", "cross-subject"]
        assert _run([*argv, "--bias", "none", *extra, "--json", str(out_json)], capsys)[0] == 0
        got[extra[0]] = json.loads(out_json.read_text())["mpjpe_mm"]
    assert got["--level"] < got["--no-match-noise"]


def test_compile_flag_reaches_the_refiner_and_its_failure_is_one_line(tmp_path, capsys, monkeypatch):
    path = _write(tmp_path, make_benchmark(noise_px=1.0, n_per=2))
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda net, dynamic: compiled.append(net) or net)
    code, out, _ = _run(["eval", str(path), "--method", "dualdiff", "--compile"], capsys)
    assert code == 0 and "MPJPE" in out and len(compiled) == 1

    def broken(net, dynamic):
        def call(*args):
            raise RuntimeError("inductor exploded\ntraceback-like detail")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    code, _, err = _run(["eval", str(path), "--method", "dualdiff", "--compile"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "torch.compile failed" in err, err


@pytest.mark.parametrize("protocol", ["official", "cross-subject"])
def test_calibrated_bias_does_not_correct_twice(tmp_path, protocol):
    """A method that has learnt its detector's bias (here: it subtracts the true 3 px itself) is off when
    the protocol's mean is subtracted as well, and right with the calibrated shift."""
    from binopose.data.benchmark import load_benchmark
    from binopose.evaluate import evaluate, triangulation_method, with_calibrated_bias

    bench = load_benchmark(_write(tmp_path, make_benchmark(bias_px=3.0)))

    def learnt(bias: str):
        inner = triangulation_method(bias)
        return lambda b, stats: inner(replace(b, kp2d_pred=b.kp2d_pred - 3.0), stats)

    twice, _ = evaluate(bench, learnt("mean"), protocol)
    calibrated, _ = evaluate(bench, with_calibrated_bias(learnt("none")), protocol)
    assert twice["mpjpe_mm"] > 5.0
    assert calibrated["mpjpe_mm"] < 0.05


def test_calibrated_bias_needs_statistics(tmp_path, capsys):
    data = _write(tmp_path, make_benchmark(bias_px=3.0))
    got = []
    for bias in ("calibrated", "none"):  # the raw protocol ignores any bias mode, as documented
        out_json = tmp_path / f"{bias}.json"
        argv = ["eval", str(data), "--protocol", "raw", "--bias", bias, "--json", str(out_json)]
        assert _run(argv, capsys)[0] == 0
        got.append(json.loads(out_json.read_text())["mpjpe_mm"])
    assert got[0] == got[1] > 5.0
    from binopose.data.benchmark import load_benchmark
    from binopose.errors import BinoposeError
    from binopose.evaluate import triangulation_method, with_calibrated_bias

    with pytest.raises(BinoposeError, match="needs a protocol with 2D error statistics"):
        with_calibrated_bias(triangulation_method("none"))(load_benchmark(data), None)


@pytest.mark.parametrize(
    ("method", "protocol", "bias"),
    [
        ("dualdiff", "cross-subject", "root"),
        ("dualdiff", "official", "mean"),
        ("triangulate", "cross-subject", "mean"),
    ],
)
def test_default_bias_depends_on_method_and_protocol(tmp_path, capsys, method, protocol, bias):
    data = _write(tmp_path, make_benchmark(noise_px=1.0, n_per=4))
    out_json = tmp_path / "out.json"
    argv = ["eval", str(data), "--method", method, "--protocol", protocol, "--json", str(out_json)]
    assert _run(argv, capsys)[0] == 0
    assert json.loads(out_json.read_text())["bias"] == bias


@pytest.mark.parametrize("protocol", ["raw", "official", "cross-subject"])
def test_subjects_scores_only_their_frames(tmp_path, capsys, protocol):
    """--subjects S2 scores S2's 18 frames and nothing else, with the protocol's fit as in the whole run
    (cross-subject: on S1): a per-frame method gives exactly the whole run's S2 row; the library path
    (binopose.evaluate.evaluate) agrees and leaves the other frames unpredicted; an unknown subject is
    one line and exit 2."""
    from binopose.data.benchmark import load_benchmark
    from binopose.evaluate import default_bias, evaluate, triangulation_method

    data = _write(tmp_path, make_benchmark(noise_px=2.0, bias_px=1.5))
    full, part = tmp_path / "full.json", tmp_path / "part.json"
    argv = ["eval", str(data), "--method", "triangulate", "--protocol", protocol]
    assert _run([*argv, "--json", str(full)], capsys)[0] == 0
    code, _, err = _run([*argv, "--subjects", "S2", "--json", str(part)], capsys)
    assert code == 0, err
    a, b = json.loads(full.read_text()), json.loads(part.read_text())
    assert b["frames"] == 18 and list(b["per_subject"]) == ["S2"] and b["subjects"] == ["S2"]
    assert sum(b["counts"]["per_action"].values()) == 18
    for key in ("mpjpe_mm", "mpjpe_rel_mm", "pa_mpjpe_mm"):
        assert b[key] == pytest.approx(a["per_subject"]["S2"][key], abs=1e-9), key
    bench = load_benchmark(data)
    method = triangulation_method(default_bias("triangulate", protocol))
    result, pred = evaluate(bench, method, protocol, subjects=("S2",))
    assert result["mpjpe_mm"] == pytest.approx(b["mpjpe_mm"], abs=1e-9)
    assert np.isnan(pred[bench.subject == "S1"]).all() and np.isfinite(pred[bench.subject == "S2"]).all()
    code, _, err = _run([*argv, "--subjects", "S9"], capsys)
    assert code == 2 and err.count("\n") == 1 and "no subject S9" in err, err
