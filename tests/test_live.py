"""binopose live on the demo clip played as two cameras (a detector that knows the clip, so results can
be checked exactly; one test with MediaPipe): pairing, dropping rather than queueing, the file and
UDP outputs, causal smoothing through the lifter, the window image, the CLI's errors."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from binopose.cli import main
from binopose.cli.demo import demo_assets
from binopose.geometry.rig import load_rig
from binopose.live.lifter import LiveConfig, LiveLifter, LivePose
from binopose.live.session import Limits, run_live
from binopose.live.sinks import PoseFile, UdpSender, read_pose_file
from binopose.live.sources import Frame, SourceOptions
from binopose.smoothing import OneEuro
from binopose.video.detect import no_person
from binopose.video.media import open_media
from binopose.video.pipeline import LiftConfig
from binopose.viz import reproject

TRIANGULATE = LiveConfig(lift=LiftConfig(refine=False, smooth="none"))


# --- the demo clip played as two cameras ------------------------------------------------------------
def _key(img: np.ndarray) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(img[::8, ::8]).tobytes()).digest()


class ClipDetector:
    """Knows the demo clip: finds a frame's index by its pixels and returns the reference pose
    projected into this view (so the result can be checked), after an optional delay."""

    name = "clip"

    def __init__(self, index: dict, uv: np.ndarray, delay: float = 0.0) -> None:
        self.index, self.uv, self.delay, self.seen = index, uv, delay, []

    def detect(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time.sleep(self.delay)
        i = self.index.get(_key(frame_bgr))
        if i is None:  # the blank warm-up image
            return no_person()
        self.seen.append(i)
        return self.uv[i].copy(), np.ones(17)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def clip():
    a = demo_assets()
    rig = load_rig(a["rig"])
    ref = np.load(a["reference"])["kp3d_ref_4view_left_mm"].astype(np.float64)
    uv = reproject(ref, rig)  # (99, 2, 17, 2) camera pixels
    index = [{_key(img): i for i, img in open_media(a[s]).frames()} for s in ("left", "right")]
    return a, rig, ref, uv, index


def _factory(clip, delay=0.0):
    _, _, _, uv, index = clip
    made = []

    def make():
        v = len(made) % 2
        made.append(ClipDetector(index[v], uv[:, v], delay))
        return made[-1]

    return make, made


class ListSink:
    def __init__(self) -> None:
        self.messages = []

    def write(self, msg: dict) -> None:
        self.messages.append(msg)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("parallel", [False, True])
def test_demo_clip_as_two_cameras_every_frame(clip, parallel):
    a, rig, ref, _, _ = clip
    make, made = _factory(clip)
    sink = ListSink()
    s = run_live(
        str(a["left"]),
        str(a["right"]),
        rig,
        replace(TRIANGULATE, parallel=parallel),
        make,
        [sink],
        Limits(max_poses=12),
        sources=SourceOptions(every_frame=True),
        log=lambda _: None,
    )
    assert s["poses"] == 12 and s["end"] == "12 poses"
    assert [m["frame"] for m in sink.messages] == list(range(12))
    X = np.array([m["joints"] for m in sink.messages], dtype=float)
    assert np.abs(X - ref[:12]).max() < 1.0  # exact projections triangulate back to the reference (mm)
    assert s["cameras"]["left"]["frames_dropped"] == 0 and s["settings"]["parallel_detect"] == parallel
    assert made[0].seen == made[1].seen == list(range(12))  # each view's own detector, in order


def test_demo_clip_paced_slow_detector_drops_frames_and_keeps_up(clip):
    a, rig, ref, _, _ = clip
    make, made = _factory(clip, delay=0.04)  # 80 ms a pair: about five 60 fps frames
    sink = ListSink()
    s = run_live(str(a["left"]), str(a["right"]), rig, TRIANGULATE, make, [sink], log=lambda _: None)
    assert s["end"].endswith("source ended")
    frames = [m["frame"] for m in sink.messages]
    assert made[0].seen == made[1].seen == frames  # both views always of the same instant
    for side in ("left", "right"):
        c = s["cameras"][side]
        assert c["frames_delivered"] == 99 and c["frames_dropped"] > 30
        assert c["frames_used"] + c["frames_unmatched"] + c["frames_dropped"] <= 99
    assert len(frames) < 45 and np.diff(frames).min() >= 1 and frames[-1] >= 80  # skipped, not queued
    X = np.array([m["joints"] for m in sink.messages], dtype=float)
    assert np.abs(X - ref[frames]).max() < 1.0


def test_udp_messages_and_file_lines(clip, tmp_path):
    a, rig, _, _, _ = clip
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5.0)
    out = tmp_path / "poses.ndjson"
    sinks = [UdpSender(f"127.0.0.1:{rx.getsockname()[1]}"), PoseFile(out)]
    make, _ = _factory(clip)
    run_live(
        str(a["left"]),
        str(a["right"]),
        rig,
        TRIANGULATE,
        make,
        sinks,
        Limits(max_poses=5),
        sources=SourceOptions(every_frame=True),
        log=lambda _: None,
    )
    got = [json.loads(rx.recv(65536)) for _ in range(5)]
    rx.close()
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert got == lines and [m["frame"] for m in got] == list(range(5))
    m = got[0]
    assert set(m) == {"t", "frame", "joints", "names", "conf"} and len(m["names"]) == 17
    assert np.array(m["joints"]).shape == (17, 3) and len(m["conf"]) == 17
    assert [g["t"] for g in got] == pytest.approx(np.arange(5) / 60.0, abs=1e-3)


def test_csv_file_and_killed_writer_leave_whole_lines(tmp_path):
    code = (
        "import sys\n"
        "from binopose.live.sinks import PoseFile\n"
        "f = PoseFile(sys.argv[1]); i = 0\n"
        "msg = {'t': 0.5, 'frame': 0, 'joints': [[1.0, 2.0, 3.0]] * 16 + [None], 'names': [], 'conf': [1.0] * 17}\n"
        "while True:\n"
        "    msg['frame'] = i; f.write(msg); i += 1\n"
        "    if i == 20: print('ready', flush=True)\n"
    )
    for suffix in (".ndjson", ".csv"):
        path = tmp_path / f"p{suffix}"
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2)
        proc.kill()
        proc.wait()
        rows = read_pose_file(path)  # every whole line parses; an unfinished last one is left out
        assert len(rows) >= 20 and [r["frame"] for r in rows] == list(range(len(rows)))
        assert all(r["joints"][16] is None and r["joints"][0] == [1.0, 2.0, 3.0] for r in rows)
        assert all(r["t"] == 0.5 and r["conf"] == [1.0] * 17 for r in rows)
        if suffix == ".csv":
            header = path.read_text().split("\n", 1)[0].split(",")
            assert header[:3] == ["t", "frame", "right_ankle_x"] and len(header) == 2 + 17 * 4


def test_live_lifter_smooths_causally(clip):
    _, rig, ref, uv, _ = clip
    cfg = LiveConfig(lift=LiftConfig(refine=False, smooth="oneeuro"), fps=60.0)

    class Given:
        def __init__(self, kp):
            self.kp = iter(kp)

        def detect(self, img):
            return next(self.kp), np.ones(17)

    def run(kp2d):
        lifter = LiveLifter(rig, (Given(kp2d[:, 0]), Given(kp2d[:, 1])), cfg)
        return np.array(
            [lifter(Frame(i, i / 60, 0.0, None), Frame(i, i / 60, 0.0, None)).pose for i in range(30)]
        )

    changed = uv[:30].copy()
    changed[20:] += 15.0
    a, b = run(uv[:30]), run(changed)
    assert isinstance(LiveLifter(rig, (None, None), cfg).smoother, OneEuro)
    assert np.array_equal(a[:20], b[:20]) and not np.allclose(a[20:], b[20:])
    assert np.nanmean(np.abs(np.diff(a, 2, axis=0))) < np.nanmean(np.abs(np.diff(ref[:30], 2, axis=0)))


def test_window_image_headless(clip, monkeypatch):
    from binopose.live.view import compose, display_available

    a, rig, ref, uv, _ = clip
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert not display_available()
    img = open_media(a["left"]).read(0)
    lp = LivePose(0, 0, 0.0, 0.0, uv[0], np.ones((2, 17)), ref[0], np.ones(17), False)
    out = compose(img, img, lp, rig, height=240)
    assert out.shape == (240, 2 * 136 + 240, 3) and out[:, -240:].max() > 100  # both views + the 3D panel


# --- the command line -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--udp", "nohostport"], "expected HOST:PORT"),
        (["--out", "poses.txt"], "unknown format"),
        (["--det-scale", "0"], "--det-scale must be in (0, 1]"),
        (["--max-poses", "-1"], "--max-poses must be > 0"),
    ],
)
def test_cli_usage_errors_are_one_line(clip, capsys, tmp_path, extra, message):
    a = clip[0]
    argv = ["live", "--left", str(a["left"]), "--right", str(a["right"]), "--rig", str(a["rig"]), "--no-show"]
    assert main([*argv, *[str(tmp_path / e) if e.endswith(".txt") else e for e in extra]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_cli_show_without_display(clip, capsys, monkeypatch):
    a = clip[0]
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("a display is assumed outside Linux")
    argv = ["live", "--left", str(a["left"]), "--right", str(a["right"]), "--rig", str(a["rig"]), "--show"]
    assert main(argv) == 2
    assert "--show: no display here" in capsys.readouterr().err


def test_cli_missing_source(clip, capsys):
    a = clip[0]
    assert main(["live", "--left", "nope.mp4", "--right", str(a["right"]), "--rig", str(a["rig"])]) == 2
    assert "no camera, stream or file 'nope.mp4'" in capsys.readouterr().err


def test_cli_live_with_mediapipe(clip, tmp_path):
    pytest.importorskip("mediapipe")
    a, _, ref, _, _ = clip
    out, summary = tmp_path / "p.ndjson", tmp_path / "s.json"
    argv = [
        "live",
        "--left",
        str(a["left"]),
        "--right",
        str(a["right"]),
        "--rig",
        str(a["rig"]),
        "--no-show",
        "--no-refine",
        "--every-frame",
        "--max-poses",
        "4",
        "--out",
        str(out),
        "--summary",
        str(summary),
    ]
    threads = torch.get_num_threads()
    assert main([*argv, "--threads", str(threads + 1)]) == 0
    assert torch.get_num_threads() == threads  # the CLI puts the process-wide setting back
    X = np.array([json.loads(x)["joints"] for x in out.read_text().splitlines()], dtype=float)
    assert X.shape == (4, 17, 3) and np.nanmean(np.linalg.norm(X - ref[:4], axis=-1)) < 80.0
    s = json.loads(Path(summary).read_text())
    assert s["poses"] == 4 and s["settings"]["refine"] is False and s["latency_ms"]["median"] > 0


def test_recording_evidence_option_reaches_the_lifter():
    from binopose.cli import build_parser
    from binopose.cli.live import _config

    args = build_parser().parse_args(["live", "--left", "a.mp4", "--right", "b.mp4", "--rig", "r.toml"])
    assert _config(args).running_evidence is True  # the default since the rule of 16:03 UTC
    args = build_parser().parse_args(
        ["live", "--left", "a.mp4", "--right", "b.mp4", "--rig", "r.toml", "--no-recording-evidence"]
    )
    assert _config(args).running_evidence is False


def test_one_frame_alone_is_triangulated(monkeypatch):
    """The gate's noise is the spread of the residual over the input's frames: one frame has none, so
    refining a frame alone gives its triangulation (why live judges frames with the recording's evidence),
    and the network does not run for a result the gate would discard."""
    import torch
    from helpers import stereo_views

    from binopose.geometry import triangulate
    from binopose.refiner import Refiner

    _, P, u = stereo_views(1, seed=5)
    noisy = u + 6.0 * torch.randn(u.shape, generator=torch.Generator().manual_seed(0), dtype=u.dtype)
    refiner = Refiner.load()
    calls = []
    original = Refiner.network_pass
    monkeypatch.setattr(
        Refiner, "network_pass", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    res = refiner.refine(noisy, P)
    assert res.gate is not None and res.gate.alpha == 0.0 and res.gate.frames == 1
    torch.testing.assert_close(res.poses, triangulate(noisy, P))
    assert not calls
    refiner.refine(torch.cat([noisy, u]), torch.cat([P, P]))  # two frames: a spread, so the network runs
    assert calls
