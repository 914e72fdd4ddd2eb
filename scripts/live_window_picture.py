"""The picture of binopose live's window in docs/LIVE.md: the demo clip's first N frame pairs through the
live lifter (MediaPipe, refinement, causal One-Euro), the window image of the last one saved as JPEG.

    PYTHONPATH=src .venv/bin/python scripts/live_window_picture.py [--frames 50] [--out docs/img/live_window.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import cv2

    from binopose.cli.demo import demo_assets
    from binopose.geometry.rig import load_rig
    from binopose.live.lifter import LiveConfig, LiveLifter
    from binopose.live.sources import Frame
    from binopose.live.view import compose
    from binopose.video.detect import make_detector
    from binopose.video.media import open_media

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("docs/img/live_window.jpg"))
    args = ap.parse_args(argv)
    a = demo_assets()
    rig = load_rig(a["rig"])
    lifter = LiveLifter(rig, (make_detector(), make_detector()), LiveConfig(fps=60.0))
    left, right = (open_media(a[s]).frames(0, args.frames) for s in ("left", "right"))
    for (i, img_l), (_, img_r) in zip(left, right, strict=False):
        fl, fr = Frame(i, i / 60, 0.0, img_l), Frame(i, i / 60, 0.0, img_r)
        pose = lifter(fl, fr)
    cv2.imwrite(
        str(args.out), compose(fl.image, fr.image, pose, rig, height=480), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    print(f"wrote {args.out} (frame {pose.left_seq})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
