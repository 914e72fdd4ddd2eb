"""Where live 3D poses go: a file that grows by one complete line per frame, and JSON over UDP.

The message (one UDP datagram per frame, one NDJSON line per frame; docs/LIVE.md describes it)::

    {"t": 1.2345, "frame": 74, "joints": [[x, y, z], ...], "names": ["right_ankle", ...],
     "conf": [0.98, ...]}

``t``: capture time of the frame pair, seconds since the session started; ``frame``: the left
camera's frame number; ``joints``: 17 x [x, y, z] in mm in the left camera's frame (x right, y down,
z forward), ``null`` for a joint that was not found; ``names``: the 17 joint names in that order;
``conf``: per joint, the smaller of the two views' detector confidences (0 = not detected).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from binopose.errors import BinoposeError
from binopose.skeleton import JOINT_NAMES

if TYPE_CHECKING:  # the sinks are light: a receiver or a test can use them without torch
    from binopose.live.lifter import LivePose

FILE_FORMATS = (".ndjson", ".jsonl", ".csv")


def message(p: LivePose, t0: float) -> dict:
    """The JSON message of one pose (see the module docstring)."""
    joints = [[None if not np.isfinite(c) else round(float(c), 2) for c in j] for j in p.pose]
    joints = [None if any(c is None for c in j) else j for j in joints]
    return {
        "t": round(p.t - t0, 4),
        "frame": int(p.left_seq),
        "joints": joints,
        "names": list(JOINT_NAMES),
        "conf": [round(float(c), 3) for c in p.conf],
    }


def encode(msg: dict) -> bytes:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode()


class PoseFile:
    """Appends one line per pose with a single ``write`` system call (no buffering): NDJSON (the message)
    or CSV. Every line before the last is whole whatever happens to the process; SIGKILL can cut the
    line being written when it crosses a 4 KiB page (Linux stops a write between pages for a fatal
    signal), so :func:`read_pose_file` leaves out a last line without its newline."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in FILE_FORMATS:
            raise BinoposeError(
                f"--out {self.path}: unknown format {self.kind or '(none)'} (expected {', '.join(FILE_FORMATS)})"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        except OSError as e:
            raise BinoposeError(f"cannot write {self.path}: {e.strerror}") from None
        if self.kind == ".csv":
            cols = [f"{n}_{a}" for n in JOINT_NAMES for a in "xyz"] + [f"{n}_conf" for n in JOINT_NAMES]
            self._write("t,frame," + ",".join(cols))

    def _write(self, line: str) -> None:
        os.write(self._fd, (line + "\n").encode())

    def write(self, msg: dict) -> None:
        if self.kind != ".csv":
            self._write(encode(msg).decode())
            return
        xyz = [("" if j is None else f"{c}") for j in msg["joints"] for c in (j or [None] * 3)]
        self._write(",".join([str(msg["t"]), str(msg["frame"]), *xyz, *map(str, msg["conf"])]))

    def close(self) -> None:
        os.close(self._fd)


def read_pose_file(path: str | os.PathLike) -> list[dict]:
    """The messages of a :class:`PoseFile` (NDJSON, or CSV rows as ``{"t", "frame", "joints", "conf"}``),
    without a last line that a killed writer left unfinished (no newline)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise BinoposeError(f"cannot read {p}: {e}") from None
    lines = text.split("\n")[:-1]  # the piece after the last newline is unfinished (or empty)
    try:
        if p.suffix.lower() != ".csv":
            return [json.loads(line) for line in lines]
        return [_csv_message(line) for line in lines[1:]]
    except ValueError as e:
        raise BinoposeError(f"{p} is not a binopose live pose file ({e})") from None


def _csv_message(line: str) -> dict:
    cells = line.split(",")
    n = len(JOINT_NAMES)
    xyz = np.array([float(c) if c else np.nan for c in cells[2 : 2 + 3 * n]]).reshape(n, 3)
    joints = [None if np.isnan(j).any() else j.tolist() for j in xyz]
    return {
        "t": float(cells[0]),
        "frame": int(cells[1]),
        "joints": joints,
        "conf": [float(c) for c in cells[2 + 3 * n :]],
    }


def parse_address(text: str, option: str = "--udp") -> tuple[str, int]:
    """``host:port`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise BinoposeError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9870")
    return host.strip("[]"), int(port)


class UdpSender:
    """Sends each message as one UDP datagram to ``host:port`` (nobody needs to listen)."""

    def __init__(self, address: str) -> None:
        self.address = parse_address(address)
        try:
            info = socket.getaddrinfo(*self.address, type=socket.SOCK_DGRAM)[0]
        except socket.gaierror as e:
            raise BinoposeError(f"--udp {address}: cannot resolve the host ({e.strerror})") from None
        self._sock = socket.socket(info[0], socket.SOCK_DGRAM)
        self._target = info[4]
        self.sent = 0
        self.errors = 0

    def write(self, msg: dict) -> None:
        try:
            self._sock.sendto(encode(msg), self._target)
            self.sent += 1
        except OSError:  # e.g. nobody listening (ICMP port unreachable): a live stream keeps going
            self.errors += 1

    def close(self) -> None:
        self._sock.close()
