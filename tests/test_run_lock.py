"""Two ``binopose run`` into one output folder at once: the second stops with one line and exit 2,
writing nothing; the first is undisturbed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from test_pipeline import make_rig, write_video

from binopose.geometry.rig import save_rig


def test_second_run_into_a_busy_folder_is_refused(tmp_path):
    write_video(tmp_path / "left.mp4")
    write_video(tmp_path / "right.mp4", mark=255)  # two cameras: run refuses one video given twice
    save_rig(make_rig(), tmp_path / "rig.toml", units="mm")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = textwrap.dedent(
        f"""
        import sys, time
        from binopose.lock import folder_lock
        with folder_lock({str(out)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
        """
    )
    first = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert first.stdout.readline().strip() == "locked"
        argv = [
            "run",
            "--left",
            str(tmp_path / "left.mp4"),
            "--right",
            str(tmp_path / "right.mp4"),
            "--rig",
            str(tmp_path / "rig.toml"),
            "--out",
            str(out),
            "--no-refine",
            "--no-viz",
            "--quiet",
        ]
        second = subprocess.run(
            [sys.executable, "-m", "binopose", *argv], capture_output=True, text=True, env=env, timeout=300
        )
        assert second.returncode == 2, second.stderr[-2000:]
        assert second.stderr.count("\n") == 1 and "in use by another binopose run" in second.stderr
        assert sorted(p.name for p in out.iterdir()) == [".binopose.lock"]  # nothing of the second run
    finally:
        first.communicate("\n", timeout=30)
    assert first.returncode == 0
    # once the first run has finished, the folder is free again
    from binopose.lock import folder_lock

    with folder_lock(out):
        pass
