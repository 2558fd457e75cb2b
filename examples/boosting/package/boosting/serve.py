"""A small HTTP server around score.py: ``POST /score`` and ``GET /health``.

Generated from boosting.ipynb by jupyter-mlops, for a local test deployment and the Dockerfile.
Bad input gets a 400 with ``{"error": ...}``; a request body over ``--max-bytes`` gets a 413.
"""

import argparse
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import score

MAX_BYTES = 1_000_000


class ScoreHandler(BaseHTTPRequestHandler):
    """One request: health, or scoring a JSON string of records."""

    server_version = f"{__package__}-score/0.1"
    # A client that stops sending must not hold a thread forever.
    timeout = 30
    max_bytes = MAX_BYTES
    quiet = True

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
        """``GET /health``."""
        if self.path.split("?")[0] == "/health":
            self._answer(200, {"status": "ok", "model": __package__})
        else:
            self._answer(404, {"error": f"no route {self.path}: use POST /score or GET /health"})

    def do_POST(self) -> None:  # pylint: disable=invalid-name  # http.server's naming
        """``POST /score`` with a JSON list of records."""
        if self.path.split("?")[0] != "/score":
            self._answer(404, {"error": f"no route {self.path}: use POST /score"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._answer(411, {"error": "a Content-Length header is required"})
            return
        if length < 0 or length > self.max_bytes:
            # The body is not read: close the connection rather than drain it.
            self.close_connection = True
            self._answer(413, {"error": f"request body over {self.max_bytes} bytes"})
            return
        result = score.run(self.rfile.read(length))
        self._answer(400 if "error" in result else 200, result)

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        if not self.quiet:
            super().log_message(format, *args)


def make_server(host: str, port: int, max_bytes: int = MAX_BYTES) -> ThreadingHTTPServer:
    """Load the model and bind the server (port 0 picks a free port)."""
    score.init()
    handler = type("Handler", (ScoreHandler,), {"max_bytes": max_bytes})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; print the address as JSON once listening."""
    parser = argparse.ArgumentParser(description=f"Serve {__package__}'s score.py over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.max_bytes)
    host, port = server.server_address[:2]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
