"""Live two-camera 3D pose: readers that keep the newest frame, pairing by timestamp, per-pair lifting
with causal smoothing, and sinks (a file growing line by line, JSON over UDP, a window).

``binopose live`` (``binopose.cli.live``) drives :func:`binopose.live.session.run_live`.
"""
