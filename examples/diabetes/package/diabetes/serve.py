"""The scoring server around score.py: Starlette on uvicorn.

Generated from diabetes.ipynb by jupyter-mlops, for a local test deployment and the Dockerfile.
Routes: ``POST /score`` (a JSON list of records), ``GET /health``, ``GET /openapi.json`` (the
typed contract) and ``GET /docs`` (its documentation, offline). Every bad request gets a JSON
4xx: 400 with field-level ``detail`` for records score.py refuses, 413 for a body over
``--max-bytes``, 404/405 for other routes and methods. Scored requests and their predictions
go to a JSON-lines log (``--log``, rotated by size; ``--no-log`` turns it off); stdout gets
the address only. SIGTERM stops taking connections and finishes the requests in flight.
"""

import argparse
import fcntl
import json
import os
import socket
import threading
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import score

MAX_BYTES = 1_000_000
BACKLOG = 2048
LOG_MAX_BYTES = 20_000_000
LOG_BACKUPS = 5
HERE = Path(__file__).resolve().parent
ROUTES = "POST /score, GET /health, GET /openapi.json, GET /docs"
# The settings reach every worker process through the environment.
SETTINGS = {
    "version": "MLOPS_SERVE_VERSION",
    "log": "MLOPS_SERVE_LOG",
    "max_bytes": "MLOPS_SERVE_MAX_BYTES",
}


class BodyTooLarge(Exception):
    """The request body is over the server's limit."""


class RequestLog:
    """Scored requests as JSON lines, rotated at ``max_bytes`` into ``.1`` .. ``.N``. The
    file stays open between writes; writes from several worker processes are serialised with
    a lock file, and a process whose file was rotated by another one reopens it."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._guard = threading.Lock()
        # pylint: disable-next=consider-using-with  # open for the server's lifetime
        self._lock = open(self.path.with_name(self.path.name + ".lock"), "ab")
        self._stream = self._open()

    def _open(self):
        return open(self.path, "ab", buffering=0)  # pylint: disable=consider-using-with

    def rotate(self) -> None:
        """Move the log to ``.1`` (and each older one up a number)."""
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{number + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))

    def write(self, line: bytes) -> None:
        """Append one line (rotating first when it would pass the size limit)."""
        with self._guard:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            try:
                try:
                    current = os.stat(self.path)
                except FileNotFoundError:
                    current = None
                if current is None or current.st_ino != os.fstat(self._stream.fileno()).st_ino:
                    self._stream.close()  # another worker rotated it
                    self._stream = self._open()
                size = current.st_size if current is not None else 0
                if size and size + len(line) > self.max_bytes:
                    self._stream.close()
                    self.rotate()
                    self._stream = self._open()
                self._stream.write(line)
            finally:
                fcntl.flock(self._lock, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the log's files."""
        with self._guard:
            self._stream.close()
            self._lock.close()


def _entry(version: str, body: bytes, answer: dict, status: int, started: float) -> bytes:
    """One log line; the body goes in as sent (valid JSON: score.py parsed it)."""
    head = {
        "time": datetime.now(timezone.utc).isoformat(),
        "model_version": version,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if status != 200:
        return (json.dumps({**head, "error": answer.get("error")}) + "\n").encode("utf-8")
    tail = json.dumps({"predictions": answer.get("predictions")})
    flat = body.replace(b"\n", b" ").replace(b"\r", b" ")
    return (
        json.dumps(head)[:-1].encode("utf-8")
        + b', "records": '
        + flat
        + b", "
        + tail[1:].encode("utf-8")
        + b"\n"
    )


async def _body(request: Request, max_bytes: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(
    version: str, log: RequestLog | None = None, max_bytes: int = MAX_BYTES
) -> Starlette:
    """Load the model and build the app; ``version`` names it in every answer."""
    score.init()
    runtime = score.runtime()  # which model file init() loaded: model.pkl or model.onnx
    openapi = (HERE / "openapi.json").read_bytes()
    docs = (HERE / "docs.html").read_text(encoding="utf-8")
    headers = {"X-Model-Version": version}

    def scored(body: bytes, started: float) -> tuple:
        answer = score.run(body)
        status = 400 if "error" in answer else 200
        if log is not None:
            log.write(_entry(version, body, answer, status, started))
        return status, answer

    async def score_route(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await _body(request, max_bytes)
        except BodyTooLarge:
            return _error(
                413, f"request body over {max_bytes} bytes: send fewer records per " "request"
            )
        # In a thread: the event loop keeps accepting while a request is scored, and the
        # parts of pandas/numpy/scikit-learn that release the GIL overlap across requests.
        status, answer = await run_in_threadpool(scored, body, started)
        return JSONResponse(
            {**answer, "model_version": version}, status_code=status, headers=headers
        )

    async def health(_: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "model": __package__, "model_version": version, "runtime": runtime},
            headers=headers,
        )

    async def not_routed(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            return _error(
                405,
                f"{request.method} is not allowed on {request.url.path}: "
                f"the routes are {ROUTES}",
            )
        if exc.status_code == 404:
            return _error(404, f"no route {request.url.path}: the routes are {ROUTES}")
        return _error(exc.status_code, str(exc.detail))

    async def failed(_: Request, exc: Exception) -> Response:
        return _error(500, f"the server failed: {type(exc).__name__}: {exc}")

    @asynccontextmanager
    async def lifespan(_: Starlette):
        yield
        if log is not None:
            log.close()  # what is queued reaches the disk before the process ends

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/score", score_route, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route(
                "/openapi.json",
                lambda _: Response(openapi, media_type="application/json"),
                methods=["GET"],
            ),
            Route("/docs", lambda _: HTMLResponse(docs), methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_routed, Exception: failed},
    )


def app_from_environment() -> Starlette:
    """The app of one worker process, configured by ``main`` through the environment."""
    log = os.environ.get(SETTINGS["log"])
    return create_app(
        os.environ.get(SETTINGS["version"]) or str(__package__),
        RequestLog(Path(log)) if log else None,
        int(os.environ.get(SETTINGS["max_bytes"]) or MAX_BYTES),
    )


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), shared by the workers."""
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # Listening from here on: a client that connects before the model is loaded waits in the
    # backlog instead of being refused.
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"Serve {__package__}'s score.py over HTTP.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES)
    parser.add_argument(
        "--model-version",
        default=str(__package__),
        help="the name every answer gives for the model",
    )
    parser.add_argument(
        "--log", help="JSON-lines request log (default: requests.jsonl " "beside the model)"
    )
    parser.add_argument("--no-log", action="store_true", help="log no requests")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; print the address as JSON once listening."""
    args = _arguments(argv)
    model_dir = os.environ.get("MODEL_DIR") or os.environ.get("AZUREML_MODEL_DIR") or "outputs"
    log = "" if args.no_log else (args.log or str(Path(model_dir) / "requests.jsonl"))
    os.environ.update(
        {
            SETTINGS["version"]: args.model_version,
            SETTINGS["log"]: log,
            SETTINGS["max_bytes"]: str(args.max_bytes),
        }
    )
    sock = bound_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        f"{__package__}.serve:app_from_environment",
        factory=True,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
        backlog=BACKLOG,
    )
    print(
        json.dumps({"url": f"http://{host}:{port}", "workers": args.workers, "log": log}),
        flush=True,
    )
    if args.workers > 1:
        # pylint: disable-next=import-outside-toplevel  # only with several workers
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
