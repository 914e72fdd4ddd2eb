"""A tiny relay from ``binopose live --udp`` to a web browser (standard library only): it receives the JSON
datagrams and serves them over HTTP as Server-Sent Events, which a browser reads with ``EventSource``.

    python -m binopose.live.relay --udp 127.0.0.1:9870 --http 127.0.0.1:8765
    binopose live --left 0 --right 1 --rig rig.toml --udp 127.0.0.1:9870
    # open http://127.0.0.1:8765/ (draws the skeleton), or read http://127.0.0.1:8765/poses

Only the newest pose is kept: a slow page skips poses rather than falling behind.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from binopose.errors import BinoposeError
from binopose.live.sinks import parse_address
from binopose.skeleton import BONES

PAGE = """<!doctype html><meta charset="utf-8"><title>binopose live</title>
<body style="margin:0;background:#202020"><canvas id="c" width="640" height="640"></canvas><script>
const bones = %s, c = document.getElementById("c"), g = c.getContext("2d");
new EventSource("/poses").onmessage = (e) => {
  const m = JSON.parse(e.data), J = m.joints, root = J[6];
  g.fillStyle = "#202020"; g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = "#ddd"; g.fillText("frame " + m.frame + "  t " + m.t.toFixed(3) + " s", 10, 16);
  if (!root) return;
  const s = c.height / 2400, xy = (p) => [c.width / 2 + (p[0] - root[0]) * s, c.height / 2 + (p[1] - root[1]) * s];
  g.strokeStyle = "#4af"; g.lineWidth = 3;
  for (const [a, b] of bones) { if (!J[a] || !J[b]) continue;
    const [x0, y0] = xy(J[a]), [x1, y1] = xy(J[b]); g.beginPath(); g.moveTo(x0, y0); g.lineTo(x1, y1); g.stroke(); }
};
</script>"""


class Relay:
    """UDP in, Server-Sent Events out. ``udp_port`` / ``http_port`` are the bound ports (0 = any free one)."""

    def __init__(self, udp: tuple[str, int], http: tuple[str, int]) -> None:
        self._cond = threading.Condition()
        self._latest: tuple[int, bytes] = (0, b"")
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(udp)
        self._udp.settimeout(0.5)
        self.udp_port = self._udp.getsockname()[1]
        self._http = ThreadingHTTPServer(http, self._handler())
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        self._stop = threading.Event()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._udp.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self._latest = (self._latest[0] + 1, data)
                self._cond.notify_all()

    def next_message(self, after: int, timeout: float) -> tuple[int, bytes]:
        """The newest datagram newer than number ``after`` (waits up to ``timeout``; same one if none)."""
        with self._cond:
            self._cond.wait_for(lambda: self._latest[0] > after or self._stop.is_set(), timeout)
            return self._latest

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (http.server's name)
                if self.path == "/":
                    self._send(200, "text/html; charset=utf-8", (PAGE % json.dumps(BONES)).encode())
                elif self.path == "/poses":
                    self._stream()
                else:
                    self._send(404, "text/plain", b"not found: try / or /poses\n")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self) -> None:
                self.send_response(200)
                for k, v in (("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")):
                    self.send_header(k, v)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                seen = 0
                try:
                    while not relay._stop.is_set():
                        n, data = relay.next_message(seen, 1.0)
                        self.wfile.write(b"data: " + data + b"\n\n" if n > seen else b": idle\n\n")
                        self.wfile.flush()
                        seen = n
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, *args: object) -> None:  # quiet
                pass

        return Handler

    def start(self) -> Relay:
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._http.shutdown()
        self._http.server_close()
        self._udp.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m binopose.live.relay", description=__doc__.split("\n")[0])
    ap.add_argument("--udp", default="127.0.0.1:9870", metavar="HOST:PORT", help="where binopose live sends")
    ap.add_argument(
        "--http", default="127.0.0.1:8765", metavar="HOST:PORT", help="where the browser connects"
    )
    args = ap.parse_args(argv)
    try:
        relay = Relay(parse_address(args.udp), parse_address(args.http, "--http")).start()
    except (BinoposeError, OSError) as e:
        sys.stderr.write(f"relay: error: {e}\n")
        return 2
    print(f"relay: UDP {args.udp} -> http://{args.http}/ (page) and /poses (events); Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        relay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
