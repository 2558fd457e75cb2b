"""A Jupyter server with jupyter-mlops for the benchmarks: start it, time "Run as Job" on it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

import psutil

TOKEN = "bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JobServer:
    """``jupyter server`` on 127.0.0.1 in ``root``, its standby worker on (the default)."""

    def __init__(self, root: Path, env: dict) -> None:
        self.root, self.port = root, _free_port()
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                self.call("GET", "runs")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise SystemExit("the Jupyter server did not start")

    def call(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        """One API call under /mlops/api/."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/mlops/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def wait_for_standby(self, timeout: float = 60.0) -> None:
        """Until a standby worker of this server has its kernel up (not timed)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for proc in psutil.Process(self.proc.pid).children(recursive=True):
                line = proc.cmdline()
                if "--standby" in line and any("ipykernel" in " ".join(c.cmdline())
                                               for c in proc.children()):
                    time.sleep(1.0)  # the kernel's own start-up, once its process exists
                    return
            time.sleep(0.1)
        raise SystemExit("no standby worker came up")

    def timed_job(self, notebook: str, parameters: dict) -> float:
        """Seconds from POST runs to the run's recorded end."""
        self.wait_for_standby()
        start = time.perf_counter()
        run_id = self.call("POST", "runs", {"path": notebook, "parameters": parameters})["run"]
        while True:
            run = self.call("GET", f"runs/{run_id}")
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - start
        if run["status"] != "succeeded":
            raise SystemExit(f"the server's job {run_id} {run['status']}: {run.get('error')}")
        return seconds

    def stop(self) -> None:
        """SIGTERM, and wait (the server shuts its standby down)."""
        self.proc.terminate()
        self.proc.wait(timeout=60)
