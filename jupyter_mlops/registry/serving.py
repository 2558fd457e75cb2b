"""Serve a generated package's ``score.py`` locally, and the smoke test ("test deployment"):
start the server, send the recorded sample, compare with what the model itself predicts, stop.

For a registered version the expected answers are the registered model's own predictions on
the sample, computed in-package at register time (the run's parameters may differ from the
notebook defaults the sample's predictions were recorded with); for a package folder they are
the recorded predictions.

The server is the package's own ``serve`` module run by the package's interpreter, so what is
smoke-tested is what the Dockerfile runs.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..errors import CheckFailed, ConfigError, ExecutionError, NotebookNotFound
from ..processes import bound_to_parent
from ..store import RunStore
from .lifecycle import MODEL_DIR, PACKAGE_DIR, package_python
from .parity import check_runtime, require_parity
from .store import Registry

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Target:
    """What to serve: a package folder, its import name and a folder holding model.pkl."""

    package_dir: Path
    package: str
    model_dir: Optional[Path]
    notebook_dir: Path
    label: str
    #: The model's own predictions on the recorded sample; None: the recording's (a package
    #: folder), or unknown (a version registered before they were stored).
    expected: Optional[list] = None
    registered: bool = False
    #: the model runtime score.py loads: ``sklearn`` (model.pkl) or ``onnx`` (model.onnx)
    runtime: str = "sklearn"


def resolve(store_home: Optional[Path], spec: str, runtime: str = "sklearn") -> Target:
    """``DIR`` (a productionized package) or ``NAME:VERSION`` from the registry, served with
    ``runtime``."""
    return replace(_resolve(store_home, spec), runtime=check_runtime(runtime))


def _resolve(store_home: Optional[Path], spec: str) -> Target:
    path = Path(spec)
    if (path / "mlops-manifest.json").is_file():
        manifest = json.loads((path / "mlops-manifest.json").read_text(encoding="utf-8"))
        trained = path / "outputs"
        return Target(path.resolve(), manifest["package"],
                      trained if (trained / "model.pkl").exists() else None,
                      (path / manifest.get("notebook_dir", ".")).resolve(), str(path))
    if path.exists():
        raise ConfigError(f"{spec} is not a productionized package (no mlops-manifest.json)")
    name, _, version = spec.partition(":")
    if not version:
        raise ConfigError(f"{spec!r}: give a package folder or a registered NAME:VERSION")
    from ..store import find_home  # pylint: disable=import-outside-toplevel

    item = Registry(RunStore(store_home or find_home())).get(name, version)
    return Target(item.path / PACKAGE_DIR, item.record["package"], item.path / MODEL_DIR,
                  Path(item.record["notebook"]).parent, item.ref,
                  item.record.get("expected_predictions"), registered=True)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def check_port_free(port: int) -> None:
    """ConfigError if ``port`` on 127.0.0.1 cannot be bound (another server has it)."""
    with socket.socket() as sock:
        # The generated server sets SO_REUSEADDR too, so TIME_WAIT is no problem.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise ConfigError(f"port {port} on {HOST} is not free ({exc.strerror}): pick "
                              "another with --port") from None


def server_env(target: Target, model_dir: Path) -> dict:
    """The environment of the package's server: its model folder and runtime, the package
    importable."""
    return dict(os.environ, MODEL_DIR=str(model_dir), MODEL_RUNTIME=target.runtime,
                PYTHONPATH=os.pathsep.join([str(target.package_dir),
                                            os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))


@dataclass(frozen=True)
class ServeOptions:
    """How the package's server runs: workers, body limit and its request log."""

    workers: int = 1
    max_bytes: Optional[int] = None
    #: the request log; None: the default beside the model, "" : no log (``--no-log``)
    log: Optional[str] = None


def default_log(target: Target, model_dir: Path) -> Path:
    """Where served requests are logged: beside the registered version's model, or in the
    package folder's ``outputs/``."""
    if target.registered:
        return model_dir / "requests.jsonl"
    return target.package_dir / "outputs" / "requests.jsonl"


def serve_argv(target: Target, port: int, python: Optional[str] = None,
               options: ServeOptions = ServeOptions(),
               model_dir: Optional[Path] = None) -> list[str]:
    """The command line of the package's HTTP server."""
    argv = [python or sys.executable, "-m", f"{target.package}.serve", "--host", HOST,
            "--port", str(port), "--workers", str(options.workers), "--model-version",
            target.label]
    if options.max_bytes:
        argv += ["--max-bytes", str(options.max_bytes)]
    if options.log == "":
        return argv + ["--no-log"]
    log = options.log or (default_log(target, model_dir) if model_dir else None)
    return argv + (["--log", str(log)] if log else [])


def ensure_model(target: Target, scratch: Path, python: Optional[str] = None,
                 progress: Callable[[str], None] = lambda _: None) -> Path:
    """The folder with model.pkl: the target's, or one trained now into ``scratch``. For the
    ONNX runtime: the target's, whose model.onnx passed its parity check."""
    if target.runtime == "onnx":
        require_parity(target.model_dir, target.label)
        assert target.model_dir is not None
        return target.model_dir
    if target.model_dir is not None and (target.model_dir / "model.pkl").exists():
        return target.model_dir
    if not (target.package_dir / target.package / "train.py").exists():
        raise ConfigError(f"{target.label} has no trained model and no train module")
    progress(f"no trained model in {target.label}: training one with "
             f"`python -m {target.package}.train`")
    package_python(target.package_dir, ["-m", f"{target.package}.train", "--model-dir",
                                        str(scratch)], cwd=target.notebook_dir, python=python)
    return scratch


def wait_for_health(url: str, proc: subprocess.Popen, label: str, timeout: float = 120,
                    stderr=None) -> None:
    """Return once ``url/health`` answers 200 (see ``wait_for_health_at``)."""
    wait_for_health_at(url + "/health", proc, label, timeout, stderr)


def wait_for_health_at(address: str, proc: subprocess.Popen, label: str,
                       timeout: float = 120, stderr=None) -> None:
    """Return once ``address`` answers 200; ExecutionError if the server exits first (with
    the end of ``stderr``, a file) or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            text = ""
            if stderr is not None:
                stderr.seek(0)
                text = ":\n" + stderr.read().decode("utf-8", "replace")[-1500:]
            raise ExecutionError(f"the scoring server of {label} exited{text}")
        try:
            with urllib.request.urlopen(address, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ExecutionError(f"the scoring server of {label} did not answer within "
                                 f"{timeout:.0f} s")
        time.sleep(0.2)


@contextmanager
def running_server(target: Target, model_dir: Path, python: Optional[str] = None,
                   timeout: float = 120, options: ServeOptions = ServeOptions(log=""),
                   port: Optional[int] = None) -> Iterator[str]:
    """Start the server (on a free port unless given), wait for ``/health``; stop it
    afterwards. By default it logs no requests (a smoke test is not production traffic)."""
    port = port or free_port()
    argv = serve_argv(target, port, python, options, model_dir)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(bound_to_parent(argv), cwd=target.notebook_dir,
                                env=server_env(target, model_dir), stdout=subprocess.DEVNULL,
                                stderr=log)
        url = f"http://{HOST}:{port}"
        try:
            wait_for_health(url, proc, target.label, timeout, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=35)  # it finishes the requests in flight first
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def post_json(url: str, body: bytes, timeout: float = 60) -> tuple[int, dict]:
    """POST ``body``; (status, decoded JSON answer)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _same(expected, got, tolerance: Optional[float] = None) -> bool:
    """Equal answers: labels exactly, numbers to float64 rounding, or within ``tolerance``
    (relative, and absolute for numbers below 1, as convert measures it)."""
    if isinstance(expected, float) or isinstance(got, float):
        rel, absolute = (1e-6, 1e-9) if tolerance is None else (tolerance, tolerance)
        try:
            return math.isclose(float(expected), float(got), rel_tol=rel, abs_tol=absolute)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(_same(e, g, tolerance)
                                                 for e, g in zip(expected, got))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(_same(expected[k], got[k], tolerance)
                                                     for k in expected)
    return expected == got


def _sample(target: Target, recording: dict) -> tuple[list, Optional[list], list[str]]:
    """The records to send, the predictions expected back (None: only count them), notes."""
    records = recording.get("records")
    expected = target.expected if target.registered else recording.get("predictions")
    if not records or (expected is None and not target.registered):
        raise ConfigError(f"the recording of {target.label} has no sample records and "
                          "predictions: " + "; ".join(recording.get("notes", [])))
    if expected is None:
        return records, None, [f"{target.label} was registered without its expected "
                               "predictions: only checked that one prediction comes back per "
                               "record"]
    return records, expected, []


def _tolerance(target: Target) -> tuple[Optional[float], list[str]]:
    """How close served answers must be to the scikit-learn model's predictions: float64
    rounding (None), or for the ONNX runtime the tolerance its parity passed with."""
    if target.runtime != "onnx":
        return None, []
    parity = require_parity(target.model_dir, target.label)
    tolerance = parity["tolerances"]["max_relative_difference"]
    return tolerance, [f"served with onnxruntime (model.onnx): answers compared with the "
                       f"scikit-learn model's predictions, numbers within {tolerance:g}"]


def _differences(status: int, answer: dict, records: list, expected: Optional[list],
                 tolerance: Optional[float]) -> list[str]:
    got = answer.get("predictions")
    if status != 200 or got is None:
        return [f"POST /score answered {status}: {answer.get('error', answer)}"]
    if len(got) != len(records):
        return [f"{len(got)} predictions for {len(records)} records"]
    if expected is None:
        return []
    return [f"record {n}: the model predicts {e!r}, the server answered {g!r}"
            for n, (e, g) in enumerate(zip(expected, got), start=1)
            if not _same(e, g, tolerance)]


def smoke(target: Target, python: Optional[str] = None,
          progress: Callable[[str], None] = lambda _: None) -> dict:
    """Start, query with the recorded sample, compare, stop. CheckFailed on any difference."""
    fixture = target.package_dir / "tests" / "fixtures" / "recording.json"
    if not fixture.is_file():
        raise NotebookNotFound("no recorded sample to send: productionize without "
                               "--no-execute records one", path=str(fixture))
    records, expected, notes = _sample(target, json.loads(fixture.read_text(encoding="utf-8")))
    tolerance, more = _tolerance(target)
    with tempfile.TemporaryDirectory(prefix="mlops-smoke-") as scratch:
        model_dir = ensure_model(target, Path(scratch), python, progress)
        with running_server(target, model_dir, python) as url:
            progress(f"{target.label} serving at {url} ({target.runtime} runtime); sending "
                     f"{len(records)} records")
            status, answer = post_json(url + "/score", json.dumps(records).encode("utf-8"))
            bad_status, _ = post_json(url + "/score", b"{not json")
            with urllib.request.urlopen(url + "/openapi.json", timeout=30) as document:
                contract = json.loads(document.read())
    differences = _differences(status, answer, records, expected, tolerance)
    if bad_status != 400:
        differences.append(f"malformed JSON answered {bad_status}, not 400")
    if "/score" not in contract.get("paths", {}):
        differences.append("GET /openapi.json does not describe POST /score")
    result = {"target": target.label, "url": url, "records": len(records),
              "runtime": target.runtime, "differences": differences,
              "passed": not differences, "notes": notes + more}
    if differences:
        raise CheckFailed(f"smoke test of {target.label} failed:\n  "
                          + "\n  ".join(differences[:20]))
    return result
