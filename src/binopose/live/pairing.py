"""Pair the two cameras' frames by capture time.

Two frames are a pair when their timestamps differ by at most ``tolerance`` (half a frame period
of the faster camera by default). With that tolerance at most one frame of the other camera can be
that close, so the greedy merge below pairs each frame with its nearest partner; a frame with no
partner that close is unmatched and counted. The same rule, :func:`match_step`, pairs recorded
timestamp lists (:func:`pair_timestamps`) and the live stream (:class:`Pairer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from binopose.live.sources import Frame

PAIR, LEFT_UNMATCHED, RIGHT_UNMATCHED = "pair", "left", "right"


def default_tolerance(fps_left: float | None, fps_right: float | None) -> float:
    """Half a frame period of the faster camera (seconds); 1/60 s when neither rate is known."""
    rates = [f for f in (fps_left, fps_right) if f]
    return 0.5 / max(rates) if rates else 1.0 / 60.0


def match_step(t_left: float, t_right: float, tolerance: float) -> str:
    """PAIR when the two frames are within ``tolerance`` seconds; otherwise the older one can have
    no partner any more (the other camera's frames only get newer): LEFT_ or RIGHT_UNMATCHED."""
    if t_left < t_right - tolerance:
        return LEFT_UNMATCHED
    if t_right < t_left - tolerance:
        return RIGHT_UNMATCHED
    return PAIR


@dataclass
class Pairing:
    pairs: list[tuple[int, int]]  # (left index, right index)
    unmatched_left: list[int]
    unmatched_right: list[int]


def pair_timestamps(t_left: Sequence[float], t_right: Sequence[float], tolerance: float) -> Pairing:
    """Pair two increasing timestamp lists (seconds) with :func:`match_step`; frames left over at the
    end of one list are unmatched."""
    out = Pairing([], [], [])
    i = j = 0
    while i < len(t_left) and j < len(t_right):
        step = match_step(t_left[i], t_right[j], tolerance)
        if step == PAIR:
            out.pairs.append((i, j))
            i, j = i + 1, j + 1
        elif step == LEFT_UNMATCHED:
            out.unmatched_left.append(i)
            i += 1
        else:
            out.unmatched_right.append(j)
            j += 1
    out.unmatched_left += list(range(i, len(t_left)))
    out.unmatched_right += list(range(j, len(t_right)))
    return out


class Pairer:
    """Pairs live frames: ``next_pair()`` takes frames from the two ``take`` functions (each returns
    the newest frame not taken yet, or None when its source ended) until two are within tolerance."""

    def __init__(
        self,
        take_left: Callable[[], Frame | None],
        take_right: Callable[[], Frame | None],
        tolerance: float,
    ) -> None:
        self._take = (take_left, take_right)
        self.tolerance = tolerance
        self.unmatched = [0, 0]  # frames with no partner, per camera
        self.pairs = 0
        self._held: list[Frame | None] = [None, None]

    def next_pair(self) -> tuple[Frame, Frame] | None:
        """The next pair, or None when a source has ended."""
        while True:
            for v in (0, 1):
                if self._held[v] is None:
                    self._held[v] = self._take[v]()
                    if self._held[v] is None:
                        return None
            left, right = self._held
            step = match_step(left.t, right.t, self.tolerance)
            if step == PAIR:
                self._held = [None, None]
                self.pairs += 1
                return left, right
            v = 0 if step == LEFT_UNMATCHED else 1
            self.unmatched[v] += 1
            self._held[v] = None
