"""The BlazePose -> 17-joint mapping, and a MediaPipe smoke test on the vendored demo clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from binopose.errors import BinoposeError
from binopose.video.detect import Detector, blazepose_mapping, blazepose_to_17, no_person

SHARED = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pose2sim_demo" / "reference_4view.npz"
)
DEMO = Path(__file__).resolve().parents[1] / "src" / "binopose" / "assets" / "demo"


def test_mapping_is_an_affine_combination():
    for head in ("ears", "top"):
        W = blazepose_mapping(head)
        assert W.shape == (17, 33)
        np.testing.assert_allclose(W.sum(1), 1.0)  # translation-equivariant: weights sum to 1
    with pytest.raises(BinoposeError):
        blazepose_mapping("chin")


def test_mapping_shapes_and_confidence():
    lm = np.random.default_rng(0).uniform(0, 100, (5, 33, 2))
    vis = np.random.default_rng(1).uniform(0, 1, (5, 33))
    kp, conf = blazepose_to_17(lm, vis)
    assert kp.shape == (5, 17, 2) and conf.shape == (5, 17)
    np.testing.assert_allclose(kp[:, 6], (lm[:, 23] + lm[:, 24]) / 2)  # pelvis
    np.testing.assert_allclose(conf[:, 6], np.minimum(vis[:, 23], vis[:, 24]))
    np.testing.assert_allclose(conf[:, 7], vis[:, [11, 12, 23, 24]].min(-1))  # spine
    kp1, conf1 = blazepose_to_17(lm[0], vis[0])
    np.testing.assert_allclose(kp1, kp[0])
    np.testing.assert_allclose(conf1, conf[0])
    pts, c = no_person()
    assert np.isnan(pts).all() and (c == 0).all()


@pytest.mark.skipif(not SHARED.is_file(), reason="shared Pose2Sim reference not available")
def test_mapping_agrees_with_the_4view_reference():
    d = np.load(SHARED)
    bp = d["kp2d_blazepose_lrfixed_synced"]  # (4, F, 33, 3)
    kp, conf = blazepose_to_17(bp[..., :2].astype(np.float64), bp[..., 2].astype(np.float64))
    np.testing.assert_allclose(kp, d["kp2d_h36m17_synced"][..., :2], atol=1e-3)
    np.testing.assert_allclose(conf, d["kp2d_h36m17_synced"][..., 2], atol=1e-6)


def test_mediapipe_smoke_on_the_demo_clip():
    pytest.importorskip("mediapipe")
    from binopose.geometry.rig import load_rig
    from binopose.video.detect import MediaPipeDetector
    from binopose.video.media import open_media
    from binopose.viz import reproject

    src = open_media(DEMO / "left.mp4")
    frame = src.read(0)
    with MediaPipeDetector() as det:
        assert isinstance(det, Detector)
        kp, conf = det.detect(frame)
    assert kp.shape == (17, 2) and np.isfinite(kp).all()
    assert np.median(conf) > 0.5
    ref = np.load(DEMO / "reference.npz")["kp3d_ref_4view_left_mm"][0]
    expected = reproject(ref[None], load_rig(DEMO / "rig.toml"))[0, 0]
    err = np.linalg.norm(
        kp - expected, axis=-1
    )  # px in the 544 x 960 clip; 4-view residuals are ~4-9 px here
    assert np.median(err) < 15, err
