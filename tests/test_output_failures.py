"""Failures that must not pass unreported (issue 17): every failed write exits non-zero with one line
naming the path, an output never overwrites an input, outputs respect the umask, no input or option
makes binopose allocate what a header alone claims, JSON is strict, NaN ground truth is refused.
See docs/ROBUSTNESS.md ("Failed writes and bad settings")."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import write_tiny_bench

from binopose import io_utils
from binopose.cli import main
from binopose.geometry.rig import Camera, StereoRig, save_rig
from binopose.io import Keypoints2D, save_keypoints_2d

K = np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]])


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and the one stderr line (asserts: no traceback, exactly one line)."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse
        rc = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    return rc, lines[0]


def write_bench(path: Path, nan_pred_frames: int = 0) -> Path:
    return write_tiny_bench(path, K, nan_pred_frames)


@pytest.fixture
def f(tmp_path) -> dict[str, Path]:
    rig = tmp_path / "rig.toml"
    save_rig(StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-300, 0, 0])), rig, "mm")
    kp = tmp_path / "kp.npz"
    left = np.random.default_rng(4).uniform(250, 350, (17, 2))
    save_keypoints_2d(kp, Keypoints2D(np.stack([left, left - [60, 0]])[None].repeat(2, 0), None))
    afile = tmp_path / "a_file"
    afile.write_text("x")
    return {
        "bench": write_bench(tmp_path / "bench.npz"),
        "rig": rig,
        "kp": kp,
        "file": afile,
        "dir": tmp_path,
    }


def refine_argv(f: dict, out: object) -> list:
    return ["refine", f["kp"], "--rig", f["rig"], "--method", "triangulate", "--out", out]


# --- 1. every failed write: one line naming the path, non-zero exit -----------------------------------
def full_disk(fd: int) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("cmd", ["eval", "refine"])
def test_full_disk_exits_1_with_one_line(cmd, f, capsys, monkeypatch):
    out = f["dir"] / ("m.json" if cmd == "eval" else "poses.npz")
    argv = ["eval", f["bench"], "--json", out] if cmd == "eval" else refine_argv(f, out)
    monkeypatch.setattr(io_utils.os, "fsync", full_disk)
    rc, line = run_cli(argv, capsys)
    assert rc == 1 and str(out) in line and "No space left" in line
    assert not out.exists() and not list(f["dir"].glob(".*.tmp"))


def _out_for(cmd: str, f: dict, out: Path) -> list:
    return {
        "eval": ["eval", f["bench"], "--json", out],
        "refine": refine_argv(f, out),
        "run": ["run", "--left", f["dir"], "--right", f["dir"], "--rig", f["rig"], "--out", out],
        "demo": ["demo", "--out", out, "--max-frames", "1", "--quiet"],
        "train": ["train", f"out={out}"],
    }[cmd]


FILE_OUT = {"eval": "m.json", "refine": "poses.json"}
COMMANDS = ["eval", "refine", "run", "demo", "train"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_under_a_regular_file_is_a_usage_error(cmd, f, capsys):
    out = f["file"] / "sub" / FILE_OUT.get(cmd, "outdir")
    rc, line = run_cli(_out_for(cmd, f, out), capsys)
    assert rc == 2 and "regular file" in line and str(out) in line


@pytest.mark.parametrize("cmd", COMMANDS)
def test_output_of_the_wrong_kind_is_a_usage_error(cmd, f, capsys):
    """A folder where a file is written (eval, refine), a regular file where a folder is (the others)."""
    out = f["file"]
    if cmd in FILE_OUT:
        out = f["dir"] / "somefolder.json"
        out.mkdir()
    rc, line = run_cli(_out_for(cmd, f, out), capsys)
    assert rc == 2 and str(out) in line and ("folder" in line)


@pytest.mark.parametrize("cmd", COMMANDS)
@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_output_exits_1(cmd, code, f, capsys, monkeypatch):
    """A read-only file system or folder (simulated: root ignores permissions) fails before any work."""
    out = f["dir"] / "new" / FILE_OUT.get(cmd, "outdir")

    def refuse(*a, **k):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(io_utils.tempfile, "mkstemp", refuse)
    rc, line = run_cli(_out_for(cmd, f, out), capsys)
    assert rc == 1 and str(out) in line and os.strerror(code) in line


def test_real_read_only_folder_through_the_installed_command(f):
    """A real read-only folder, through a real process: as root (who ignores permissions) the command
    runs as uid 65534 through setpriv, otherwise as the user, with chmod 555."""
    prefix = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root without setpriv: no way to meet a read-only folder")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import binopose"], capture_output=True, env=env
        )
        if probe.returncode != 0:  # e.g. a checkout inside a folder private to root (mktemp -d)
            pytest.skip("uid 65534 cannot read this checkout, so it cannot run binopose")
    d = Path(tempfile.mkdtemp(prefix="binopose_ro_"))  # readable by the other user, unlike tmp_path
    try:
        d.chmod(0o755)
        for k in ("bench", "kp", "rig"):
            shutil.copy(f[k], d / f[k].name)
            (d / f[k].name).chmod(0o644)
        ro = d / "ro"
        ro.mkdir(mode=0o555)
        ro.chmod(0o555)
        argvs = (
            ["eval", d / "bench.npz", "--json", ro / "m.json"],
            [
                "refine",
                d / "kp.npz",
                "--rig",
                d / "rig.toml",
                "--method",
                "triangulate",
                "--out",
                ro / "p.npz",
            ],
        )
        env = {**os.environ, "HOME": str(d), "PYTHONPATH": os.pathsep.join(sys.path)}
        for argv in argvs:
            cmd = [*prefix, sys.executable, "-m", "binopose", *map(str, argv)]
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=d)
            assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
            assert len(r.stderr.splitlines()) == 1 and "not writable" in r.stderr, r.stderr
        assert list(ro.iterdir()) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_write_failure_in_a_subprocess_is_not_exit_0(f, tmp_path):
    """The real entry point (python -m binopose), a full disk simulated inside it: exit code 1."""
    code = (
        "import errno, os, sys\n"
        "from binopose import io_utils\n"
        "def full(fd): raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "io_utils.os.fsync = full\n"
        "from binopose.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "eval", str(f["bench"]), "--json", str(tmp_path / "m.json")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "No space left" in r.stderr


# --- 2. an output never overwrites an input -------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "{bench}", "--json", "{bench}"],
        ["refine", "{kp}", "--rig", "{rig}", "--method", "triangulate", "--out", "{kp}"],
        ["refine", "{kp}", "--rig", "{rig}", "--method", "triangulate", "--out", "{dir}/./kp.npz"],
        ["refine", "{kp}", "--rig", "{rig}", "--method", "triangulate", "--out", "{dir}/link.npz"],
        ["run", "--left", "{dir}/imgs", "--right", "{dir}/imgs2", "--rig", "{rig}", "--out", "{dir}/imgs"],
    ],
    ids=["eval", "refine", "refine-dot", "refine-symlink", "run-into-the-image-folder"],
)
def test_output_equal_to_an_input_is_refused(argv, f, capsys):
    (f["dir"] / "link.npz").symlink_to(f["kp"])
    (f["dir"] / "imgs").mkdir()
    before = {p: p.read_bytes() for p in (f["bench"], f["kp"])}
    rc, line = run_cli([a.format(**f) for a in argv], capsys)
    assert rc == 2 and "is the input" in line
    assert all(p.read_bytes() == b for p, b in before.items())


# --- 3. outputs respect the umask ----------------------------------------------------------------------
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_respect_the_umask(tmp_path, mask, mode, f, capsys):
    old = os.umask(mask)
    try:
        io_utils.atomic_write_text(tmp_path / "a.txt", "x")
        assert main([str(a) for a in refine_argv(f, tmp_path / "poses.npz")]) == 0
    finally:
        os.umask(old)
    for p in (tmp_path / "a.txt", tmp_path / "poses.npz"):
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


# --- 4. no header or option decides what is allocated ---------------------------------------------------
def forged_npz(path: Path, name: str, shape: tuple) -> Path:
    """A member whose .npy header claims ``shape`` (float32) but holds 64 bytes: a truncated file."""
    with zipfile.ZipFile(path, "w") as z, z.open(f"{name}.npy", "w") as m:
        np.lib.format.write_array_header_1_0(m, {"descr": "<f4", "fortran_order": False, "shape": shape})
        m.write(b"\0" * 64)
    return path


def test_truncated_npz_claiming_terabytes_is_refused(f, capsys):
    big = forged_npz(f["dir"] / "big.npz", "kp2d_pred", (200_000_000_000, 2, 17, 1))  # 6.8e12 elements
    rc, line = run_cli(["eval", big], capsys)
    assert rc == 2 and "kp2d_pred" in line and "truncated" in line
    kp = forged_npz(f["dir"] / "bigkp.npz", "kp2d", (100_000_000_000, 2, 17, 2))
    rc, line = run_cli(["refine", kp, "--rig", f["rig"], "--out", f["dir"] / "p.npz"], capsys)
    assert rc == 2 and "truncated" in line


def test_array_over_the_memory_limit_is_refused(f, capsys, monkeypatch):
    monkeypatch.setenv("BINOPOSE_MAX_ARRAY_BYTES", "1000")
    rc, line = run_cli(["eval", f["bench"]], capsys)
    assert rc == 2 and "BINOPOSE_MAX_ARRAY_BYTES" in line


@pytest.mark.parametrize("h", ["33", "1000000000000"])
def test_huge_hypotheses_is_refused(h, f, capsys):
    rc, line = run_cli(["eval", f["bench"], "--method", "dualdiff", "--hypotheses", h], capsys)
    assert rc == 2 and "hypotheses must be in 1..32" in line


def test_huge_steps_is_refused(f, capsys):
    rc, line = run_cli(["eval", f["bench"], "--method", "dualdiff", "--steps", "10000000000000"], capsys)
    assert rc == 2 and "steps" in line


# --- 7. strict JSON -------------------------------------------------------------------------------------
def strict_load(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_eval_json_is_strict(f, capsys):
    bench = write_bench(f["dir"] / "nanpred.npz", nan_pred_frames=2)
    out = f["dir"] / "m.json"
    assert main(["eval", str(bench), "--json", str(out)]) == 0
    doc = strict_load(out.read_text())
    assert doc["per_subject"]["S9"]["mpjpe_mm"] is None  # all of S9's joints failed: null, not NaN


def test_json_helper_writes_null_for_every_non_finite_number(tmp_path):
    obj = {"a": float("nan"), "b": np.float32("inf"), "c": [np.nan, 1.5], "d": np.array([-np.inf, 2.0])}
    io_utils.atomic_write_json(tmp_path / "x.json", obj)
    assert strict_load((tmp_path / "x.json").read_text()) == {
        "a": None,
        "b": None,
        "c": [None, 1.5],
        "d": [None, 2.0],
    }


# --- 8. NaN ground truth, negative --max-frames, unreadable rig -----------------------------------------
@pytest.mark.parametrize("key", ["kp3d_gt", "kp2d_gt"])
def test_nan_ground_truth_is_refused(key, f, capsys):
    d = dict(np.load(f["bench"]))
    d[key] = d[key].copy()
    d[key].reshape(4, -1)[1, 3] = np.nan  # one number of frame 1
    np.savez(f["dir"] / "nangt.npz", **d)
    rc, line = run_cli(["eval", f["dir"] / "nangt.npz"], capsys)
    assert rc == 2 and key in line and "1 of 4 frame(s)" in line


@pytest.mark.parametrize("cmd", ["run", "demo"])
def test_negative_max_frames(cmd, f, capsys):
    argv = _out_for(cmd, f, f["dir"] / "o") + (["--max-frames", "-3"] if cmd == "run" else [])
    if cmd == "demo":
        argv[argv.index("--max-frames") + 1] = "-3"
    rc, line = run_cli(argv, capsys)
    assert rc == 2 and "--max-frames" in line


@pytest.mark.parametrize("kind", ["permission", "binary", "no-matrix"])
def test_unreadable_rig_is_one_line(kind, f, capsys, monkeypatch):
    rig = f["dir"] / "bad.toml"
    if kind == "permission":  # root reads anything: the read itself is made to fail
        rig.write_text(f["rig"].read_text())
        real = Path.read_text

        def denied(self, *a, **k):
            if self == rig:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "read_text", denied)
    elif kind == "binary":
        rig.write_bytes(bytes(range(256)) * 4)
    else:
        rig.write_text("[cam_1]\nname = 'a'\nsize = [640, 480]\n[cam_2]\nname = 'b'\n")
    argv = ["refine", f["kp"], "--rig", rig, "--method", "triangulate", "--out", f["dir"] / "p.json"]
    rc, line = run_cli(argv, capsys)
    assert rc == 2 and (str(rig) in line or "'matrix'" in line)
