"""Frames per second, latency and frame accounting of a live session."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from binopose.live.sources import clock


@dataclass
class LiveStats:
    t_start: float = field(default_factory=clock)
    cpu_start: float = field(default_factory=time.process_time)  # CPU seconds of the whole process
    latencies_s: list[float] = field(default_factory=list)  # emitted - arrival of the left frame
    busy_s: float = 0.0  # wall time spent lifting (detect + 3D), summed over poses
    emitted: int = 0
    complete: int = 0  # poses with all 17 joints
    _window: list[float] = field(default_factory=list)  # emit times since the last report

    def record(self, t_arrival: float, complete: bool, busy_s: float = 0.0) -> float:
        now = clock()
        self.busy_s += busy_s
        self.latencies_s.append(now - t_arrival)
        self.emitted += 1
        self.complete += int(complete)
        self._window.append(now)
        return now

    def window_report(self) -> str:
        """One line on the frames since the previous call: rate and latency."""
        w, self._window = self._window, []
        if len(w) < 2:
            return f"live: {self.emitted} poses ({len(w)} since the last report)"
        lat = np.array(self.latencies_s[-len(w) :]) * 1e3
        fps = (len(w) - 1) / (w[-1] - w[0])
        return (
            f"live: {self.emitted} poses, {fps:.1f} poses/s, latency median {np.median(lat):.0f} ms "
            f"(p95 {np.percentile(lat, 95):.0f} ms)"
        )

    def summary(self, readers: dict[str, object], unmatched: list[int]) -> dict:
        """Totals: poses/s over the session, latency percentiles (ms), frames per camera."""
        wall = clock() - self.t_start
        cpu = time.process_time() - self.cpu_start
        lat = np.array(self.latencies_s) * 1e3 if self.latencies_s else np.full(1, np.nan)
        cams = {}
        for (side, r), un in zip(readers.items(), unmatched):
            m = r.mailbox
            cams[side] = {
                "frames_delivered": m.put_count,
                "frames_dropped": m.dropped,
                "frames_unmatched": un,
                "frames_used": m.taken - un,
            }
        return {
            "poses": self.emitted,
            "poses_complete": self.complete,
            "wall_s": round(wall, 3),
            "poses_per_s": round(self.emitted / wall, 2) if wall > 0 else None,
            # load-independent cost: CPU seconds of the process (readers' decoding included) per pose,
            # and the wall time of lifting one pair (detect both views + 3D)
            "cpu_s_per_pose": round(cpu / self.emitted, 4) if self.emitted else None,
            "cpu_cores_busy": round(cpu / wall, 2) if wall > 0 else None,
            "lift_ms_per_pose": round(1e3 * self.busy_s / self.emitted, 1) if self.emitted else None,
            "latency_ms": {
                "median": _r(np.median(lat)),
                "p95": _r(np.percentile(lat, 95)),
                "max": _r(lat.max()),
                "mean": _r(lat.mean()),
            },
            "cameras": cams,
        }


def _r(x: float) -> float | None:
    return round(float(x), 1) if np.isfinite(x) else None


def format_summary(s: dict) -> str:
    lat = s["latency_ms"]
    lines = [
        f"live: {s['poses']} poses ({s['poses_complete']} complete) in {s['wall_s']} s = {s['poses_per_s']} poses/s; "
        f"latency median {lat['median']} ms, p95 {lat['p95']} ms, max {lat['max']} ms",
        f"  lifting a pair: {s['lift_ms_per_pose']} ms; CPU: {s['cpu_s_per_pose']} s per pose, "
        f"{s['cpu_cores_busy']} cores busy",
    ]
    for side, c in s["cameras"].items():
        lines.append(
            f"  {side}: {c['frames_delivered']} frames, {c['frames_dropped']} dropped (consumer busy), "
            f"{c['frames_unmatched']} unmatched, {c['frames_used']} used"
        )
    return "\n".join(lines)
