"""Mismatched calibration pairs (the right images shifted by one): refused unless --force."""

from __future__ import annotations

import shutil

import pytest

cv2 = pytest.importorskip("cv2")

from test_calibration import CHECKER, checkerboard_texture, run_cli, write_pairs  # noqa: E402

from binopose.calibrate.calibration import pairing_problem  # noqa: E402


def test_pairing_rule():
    assert pairing_problem(0.2, 0.25, 0.3) is None
    assert pairing_problem(0.2, 0.25, 1.9) is None  # 10x the cameras', but under 2 px: accepted
    assert pairing_problem(1.0, 1.2, 3.0) is None  # above 2 px, but not 3x the cameras'
    msg = pairing_problem(0.2, 0.25, 27.0)
    assert "27.00 px" in msg and "0.25 px" in msg and "shifted" in msg


def test_shifted_pairs_are_refused_and_no_rig_is_written(tmp_path, capsys):
    left, right = write_pairs(tmp_path, CHECKER, checkerboard_texture(CHECKER))
    shifted = tmp_path / "shifted"
    shifted.mkdir()
    names = sorted(p.name for p in right.iterdir())
    for a, b in zip(names[:-1], names[1:], strict=False):  # right image i shows the board of pair i+1
        shutil.copy(right / b, shifted / a)
    (left / names[-1]).unlink()
    out = tmp_path / "rig.toml"
    args = ["--left", str(left), "--right", str(shifted), "--square-mm", "30", "--out", str(out)]
    rc, stdout, err = run_cli(capsys, *args)
    assert rc == 2 and err.count("\n") == 1 and "--force" in err and not out.exists(), (stdout, err)
    rc, stdout, err = run_cli(capsys, *args, "--force")
    assert rc == 0 and out.exists() and "warning" in err and "shifted" in err
