"""A worker process started before the job it will run: interpreter, imports and kernel ready.

The Jupyter server keeps one (:class:`Standby`); "Run as Job" hands it the queued run ids
instead of starting a worker then, so the job skips Python's start-up, the imports and the
kernel's start-up. The standby's kernel is used by that one job only: the server starts a new
standby for the next job, so every run still gets a fresh kernel process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Optional

from ..processes import process_token
from ..store import RunStore


class Standby:
    """One waiting worker (``python -m jupyter_mlops.jobs.worker --standby``) for kernel spec
    ``kernel``, launched in ``cwd``. It writes nothing in the project until it has a job (its
    log is in the temporary folder; its kernel's log moves into the run's folder)."""

    def __init__(self, cwd: Path, kernel: str = "python3") -> None:
        self.cwd, self.kernel = Path(cwd), kernel
        self._proc: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Launch the waiting worker (if none is waiting)."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            log_path = Path(tempfile.gettempdir()) / f"jupyter-mlops-standby-{os.getuid()}.log"
            argv = [sys.executable, "-m", "jupyter_mlops.jobs.worker", "--standby",
                    self.kernel, str(self.cwd)]
            with open(log_path, "ab") as log:
                # its own session, like every job's worker: it outlives a server restart
                self._proc = subprocess.Popen(  # pylint: disable=consider-using-with
                    argv, cwd=self.cwd,
                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)

    def hand(self, store: RunStore, run_ids: list[str], kernel: str,
             tracking: Optional[str] = None) -> bool:
        """Give the waiting worker these queued runs; False (nothing handed) when there is
        none alive or it waits with another kernel spec. The caller starts the next one."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None or kernel != self.kernel:
            if proc is not None:
                self._put_back(proc)
            return False
        message = {"home": str(store.home), "runs": run_ids, "tracking": tracking}
        store.set_owner(run_ids, process_token(proc.pid))
        try:
            proc.stdin.write((json.dumps(message) + "\n").encode())
            proc.stdin.close()
        except OSError:  # it died just now: the caller starts a worker as usual
            store.set_owner(run_ids, None)
            return False
        threading.Thread(target=proc.wait, name=f"mlops-reap-{proc.pid}", daemon=True).start()
        return True

    def _put_back(self, proc: subprocess.Popen) -> None:
        with self._lock:
            if self._proc is None and proc.poll() is None:
                self._proc = proc

    def stop(self) -> None:
        """End the waiting worker: its stdin closes, it shuts its kernel down and exits."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()


def wait_for_job(kernel: str, cwd: Path) -> Optional[dict]:
    """In the standby worker: start the kernel and the imports a job needs, then wait for the
    job on stdin; the job's message, its pool being ``message["kernels"]``; None at EOF."""
    from .kernels import KernelPool  # pylint: disable=import-outside-toplevel

    pool = KernelPool(kernel, cwd, ahead=1)
    try:
        import papermill  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import

        from . import engine  # noqa: F401  # pylint: disable=import-outside-toplevel,unused-import

        line = sys.stdin.readline()
    except BaseException:
        pool.close()
        raise
    if not line.strip():
        pool.close()
        return None
    message = json.loads(line)
    pool.expect(len(message["runs"]))
    message["kernels"] = pool
    return message
