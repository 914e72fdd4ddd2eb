"""A resumed ``binopose run`` detects what an uninterrupted one detects, with a detector that tracks
between frames; and it resumes when the same video is named by another path."""

from __future__ import annotations

import numpy as np
import pytest
from test_pipeline import write_video

from binopose.errors import BinoposeError
from binopose.io import Keypoints2D, load_keypoints_2d, save_keypoints_2d
from binopose.video.media import open_media
from binopose.video.pair_detection import detect_pair

N = 12


class TrackingDetector:
    """Returns the frame index (read from the brightness) plus a drift that grows with the frames seen
    since it was built or reset, as a tracker's smoothing state would."""

    name = "tracking-fake"

    def __init__(self) -> None:
        self.seen = 0

    def reset(self) -> None:
        self.seen = 0

    def detect(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i = int(round((img.mean() - 10) / 20))
        self.seen += 1
        return np.full((17, 2), i + 0.01 * self.seen), np.ones(17)

    def close(self) -> None:
        pass


def _detect(left, right, checkpoint, resume: bool) -> Keypoints2D:
    kp, _ = detect_pair(
        open_media(left),
        open_media(right),
        (TrackingDetector(), TrackingDetector()),
        checkpoint=checkpoint,
        resume=resume,
        every=1,
        progress=False,
        segment=4,
        warmup=2,
    )
    return kp


def _kill_at(checkpoint, k: int) -> None:
    """The checkpoint as a run killed after ``k`` pairs left it."""
    kp = load_keypoints_2d(checkpoint)
    meta = {**kp.meta, "done": k}
    save_keypoints_2d(checkpoint, Keypoints2D(kp.kp2d[:k], kp.conf[:k], kp.frame_index[:k], meta))


@pytest.mark.parametrize("k", [1, 4, 7, 11])
def test_resumed_detection_equals_uninterrupted(tmp_path, k):
    for side in ("left", "right"):
        write_video(tmp_path / f"{side}.mp4", N)
    left, right = tmp_path / "left.mp4", tmp_path / "right.mp4"
    whole = _detect(left, right, tmp_path / "a.npz", resume=False)
    _detect(left, right, tmp_path / "b.npz", resume=False)
    _kill_at(tmp_path / "b.npz", k)
    resumed = _detect(left, right, tmp_path / "b.npz", resume=True)
    assert np.array_equal(resumed.kp2d, whole.kp2d)
    assert not np.allclose(whole.kp2d[:, 0, 0, 0], np.arange(N))  # the drift is there to be reproduced


def test_resume_accepts_the_same_video_by_another_name(tmp_path, monkeypatch):
    for side in ("left", "right"):
        write_video(tmp_path / f"{side}.mp4", N)
    monkeypatch.chdir(tmp_path)
    ck = tmp_path / "ck.npz"
    whole = _detect("left.mp4", "right.mp4", ck, resume=False)
    _kill_at(ck, 6)
    resumed = _detect(tmp_path / "left.mp4", tmp_path / "./right.mp4", ck, resume=True)
    assert np.array_equal(resumed.kp2d, whole.kp2d)
    # another video (same name, other content) is refused
    _kill_at(ck, 6)
    write_video(tmp_path / "right.mp4", N - 1)
    with pytest.raises(BinoposeError, match="another run.*right_media"):
        _detect("left.mp4", "right.mp4", ck, resume=True)
