"""binopose live's parts without video: pairing by timestamp, the newest-frame mailbox (a slow consumer
drops frames), the causal One-Euro filter, the headless window image."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from binopose.live.pairing import Pairer, pair_timestamps
from binopose.live.sources import Frame, LatestFrame, SourceSpec
from binopose.smoothing import one_euro, one_euro_causal


# --- pairing ----------------------------------------------------------------------------------------
def test_pairing_matched_with_jitter():
    rng = np.random.default_rng(0)
    t = np.arange(100) / 60.0
    r = pair_timestamps(t, t + rng.uniform(-0.004, 0.004, 100), tolerance=0.5 / 60)
    assert r.pairs == [(i, i) for i in range(100)] and not r.unmatched_left and not r.unmatched_right


def test_pairing_unmatched_frames_are_reported():
    t = np.arange(60) / 30.0
    missing = {5, 6, 40}
    right = [x + 0.002 for i, x in enumerate(t) if i not in missing]
    r = pair_timestamps(t, right, tolerance=0.5 / 30)
    assert r.unmatched_left == sorted(missing) and r.unmatched_right == []
    assert len(r.pairs) == 57 and all(abs(t[i] - right[j]) <= 0.5 / 30 for i, j in r.pairs)


def test_pairing_drift_pairs_nearest_and_drops_the_slipped_frame():
    left = np.arange(300) / 30.0  # 10 s
    right = 0.01 + np.arange(303) / 30.3  # a 1 % faster clock: gains 3 frames over 10 s
    tol = 0.5 / 30.3
    r = pair_timestamps(left, right, tol)
    for i, j in r.pairs:  # each pair is the nearest partner on both sides
        assert abs(left[i] - right[j]) <= tol
        assert j == np.abs(right - left[i]).argmin() and i == np.abs(left - right[j]).argmin()
    assert len(r.pairs) + len(r.unmatched_left) == 300 and len(r.pairs) + len(r.unmatched_right) == 303
    assert 3 <= len(r.unmatched_right) <= 5  # the frames the faster camera gained, plus edge effects
    assert all(np.diff([p[0] for p in r.pairs]) > 0) and all(np.diff([p[1] for p in r.pairs]) > 0)


def test_live_pairer_agrees_with_pair_timestamps():
    left = np.arange(120) / 30.0
    right = 0.012 + np.delete(np.arange(125), [7, 8, 50]) / 30.5
    frames = [iter([Frame(i, t, t, None) for i, t in enumerate(ts)]) for ts in (left, right)]
    p = Pairer(lambda: next(frames[0], None), lambda: next(frames[1], None), 0.5 / 30.5)
    live = []
    while (pair := p.next_pair()) is not None:
        live.append((pair[0].seq, pair[1].seq))
    ref = pair_timestamps(left, right, 0.5 / 30.5)
    assert live == ref.pairs
    # the live pairer stops when the first source ends
    for v, un in enumerate((ref.unmatched_left, ref.unmatched_right)):
        assert len([k for k in un if k < live[-1][v]]) <= p.unmatched[v] <= len(un)


# --- newest-frame mailbox ---------------------------------------------------------------------------
def _produce(box: LatestFrame, n: int, period: float) -> threading.Thread:
    def run() -> None:
        for i in range(n):
            box.put(Frame(i, i * period, time.perf_counter(), None))
            time.sleep(period)
        box.close()

    th = threading.Thread(target=run)
    th.start()
    return th


@pytest.mark.parametrize("lossless", [False, True])
def test_slow_consumer_drops_frames_unless_lossless(lossless):
    box = LatestFrame(lossless)
    th = _produce(box, 40, 0.002)
    got = []
    while (f := box.take(timeout=5)) is not None:
        got.append(f.seq)
        time.sleep(0.02)  # a detector ten times slower than the camera
    th.join()
    assert got == sorted(got) and got[-1] == 39 and box.put_count == 40
    if lossless:
        assert got == list(range(40)) and box.dropped == 0
    else:
        assert box.dropped > 0 and len(got) + box.dropped == 40


# --- causal smoothing -------------------------------------------------------------------------------
def test_causal_smoother_never_uses_future_frames():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(0, 5, (80, 17, 3)), 0)
    y = x.copy()
    y[41:] += rng.normal(0, 200, y[41:].shape)  # the future changes after frame 40
    a, b = one_euro_causal(x, 60.0), one_euro_causal(y, 60.0)
    assert np.array_equal(a[:41], b[:41]) and not np.allclose(a[41:], b[41:])
    # the offline (forward-backward) filter does look ahead: the test would see it
    assert not np.allclose(one_euro(x, 60.0)[:41], one_euro(y, 60.0)[:41])


def test_relay_serves_udp_datagrams_as_server_sent_events():
    import socket
    import urllib.request

    from binopose.live.relay import Relay

    relay = Relay(("127.0.0.1", 0), ("127.0.0.1", 0)).start()
    try:
        base = f"http://127.0.0.1:{relay.http_port}"
        assert b"EventSource" in urllib.request.urlopen(base + "/", timeout=5).read()
        stream = urllib.request.urlopen(base + "/poses", timeout=5)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        msg = {"t": 0.5, "frame": 30, "joints": [[1.0, 2.0, 3.0]] * 17, "names": [], "conf": [1.0] * 17}
        got = None
        for _ in range(20):  # resend until the stream has subscribed (UDP: nothing is queued)
            tx.sendto(json.dumps(msg).encode(), ("127.0.0.1", relay.udp_port))
            line = stream.readline()
            if line.startswith(b"data: "):
                got = json.loads(line[6:])
                break
        tx.close()
        stream.close()
        assert got == msg
    finally:
        relay.stop()


def test_parse_source(tmp_path):
    from binopose.errors import BinoposeError
    from binopose.live.sources import parse_source

    assert parse_source("0") == SourceSpec("camera", 0) and parse_source(" 2 ").target == 2
    assert parse_source("rtsp://10.0.0.5:8554/cam").kind == "stream"
    (tmp_path / "a.mp4").write_bytes(b"")
    assert parse_source(str(tmp_path / "a.mp4")).kind == "file"
    with pytest.raises(BinoposeError, match="no camera, stream or file"):
        parse_source(str(tmp_path / "missing.mp4"))


def test_reader_paces_a_file_at_its_rate_and_reports_errors():
    from binopose.live.sources import CameraReader, clock

    img = np.zeros((2, 2, 3), np.uint8)
    r = CameraReader(iter([img] * 6), "left", pace_fps=50.0, lossless=False)
    t0 = clock() + 0.01
    r.start(t0)
    got = []
    while (f := r.mailbox.take(timeout=5)) is not None:
        got.append(f)
    assert [f.seq for f in got] == list(range(6)) and r.error is None
    assert [f.t for f in got] == pytest.approx(t0 + np.arange(6) / 50.0)
    assert all(f.t_host >= f.t for f in got)  # not handed over before its capture time

    def broken():
        yield img
        raise OSError("unplugged")

    r = CameraReader(broken(), "right").start()
    while r.mailbox.take(timeout=5) is not None:
        pass
    assert r.error == "right camera: OSError: unplugged"


def test_read_pose_file_leaves_out_an_unfinished_last_line(tmp_path):
    from binopose.errors import BinoposeError
    from binopose.live.sinks import read_pose_file

    p = tmp_path / "p.ndjson"
    p.write_text('{"t": 0.0, "frame": 0}\n{"t": 0.1, "frame": 1}\n{"t": 0.2, "fr')
    assert [m["frame"] for m in read_pose_file(p)] == [0, 1]
    p.write_text('{"t": 0.0, "frame": 0}\nnot json\n')
    with pytest.raises(BinoposeError, match="not a binopose live pose file"):
        read_pose_file(p)
