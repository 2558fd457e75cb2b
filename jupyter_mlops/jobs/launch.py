"""Jobs started in the background: validated here, run by worker processes the store knows.

:func:`start_job` checks everything in this process first (the notebook, the parameter types,
the tracking URI), records the run or the sweep's runs as queued, then starts detached worker
processes (``python -m jupyter_mlops.jobs.worker``, each in its own session) and records
their pid and start time as the runs' owner. A worker records progress at every cell. So any
process that opens the store (the server, a restarted server, the widget, the CLI) can follow
a job and :func:`cancel_job` it; :func:`reconcile` marks a run whose process is gone as failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import StateError
from ..processes import is_alive, is_local, process_token, token_pid
from ..store import Run, RunStore, find_home
from ..store.db import HOME_ENV, Status
from .run import prepare, resolve_tracking, shown_path
from .standby import Standby

WORKER_LOG = "worker.log"


@dataclass(frozen=True)
class Launched:
    """What :func:`start_job` started: a run or a sweep, and the ids of its runs."""

    kind: str  # "run" or "sweep"
    id: str
    run_ids: tuple[str, ...]
    home: Path  # the run store's folder
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """JSON form: ``{"run": ID}`` or ``{"sweep": ID}``, with the run ids."""
        return {self.kind: self.id, "runs": list(self.run_ids), "warnings": list(self.warnings)}


def start_job(notebook: os.PathLike, parameters: Optional[dict] = None, *,
              home: Optional[os.PathLike] = None, workers: int = 1,
              tracking: Optional[str] = None, standby: Optional[Standby] = None) -> Launched:
    """Validate, record as queued, and start worker process(es); returns at once.

    A comma list in a value makes a sweep, shared round-robin among ``workers`` processes.
    Raises the ``MlopsError`` of a bad notebook or parameter before anything starts. The first
    share goes to ``standby``'s waiting worker when its kernel spec is the notebook's (the
    caller starts the next standby).
    """
    nb, nb_path, typed = prepare(notebook, parameters or {})
    uri = resolve_tracking(tracking)
    store = RunStore(home or find_home(nb_path.parent))
    grid = typed.grid()
    sweep_id = store.create_sweep(nb.path, typed.values) if len(grid) > 1 else None
    run_ids = [store.create_run(shown_path(nb_path, store), nb.sha256, values, sweep_id)
               for values in grid]
    for run_id in run_ids:
        store.update(run_id, record={"notebook_path": str(nb_path)})
    shares = [run_ids[n::max(1, workers)] for n in range(min(max(1, workers), len(run_ids)))]
    kernel = nb.kernel_name or "python3"
    for number, share in enumerate(shares):
        if not (number == 0 and standby is not None
                and standby.hand(store, share, kernel, uri)):
            _spawn(store, nb_path, share, uri)
    kind, job_id = ("sweep", sweep_id) if sweep_id else ("run", run_ids[0])
    return Launched(kind, job_id, tuple(run_ids), store.home, typed.warnings)


def _spawn(store: RunStore, nb_path: Path, run_ids: list[str], uri: Optional[str]) -> None:
    """One detached worker for ``run_ids``; its pid becomes their owner in the store."""
    argv = [sys.executable, "-m", "jupyter_mlops.jobs.worker", str(store.home), *run_ids]
    if uri:
        argv += ["--tracking", uri]
    env = dict(os.environ, **{HOME_ENV: str(store.home)})
    with open(store.run_dir(run_ids[0]) / WORKER_LOG, "ab") as log:
        # Its own session: a job outlives the server that started it, and a Ctrl-C in the
        # server's terminal is not a cancel. Not `with Popen`: the reaper thread waits.
        proc = subprocess.Popen(argv, cwd=nb_path.parent, env=env,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    store.set_owner(run_ids, process_token(proc.pid))
    threading.Thread(target=proc.wait, name=f"mlops-reap-{proc.pid}", daemon=True).start()


def reconcile(store: RunStore, runs: list[Run]) -> list[Run]:
    """``runs`` with those whose owner process is gone marked failed ("lost"): a worker
    killed -9, or a machine restart, leaves no run "running" forever."""
    fixed = []
    for run in runs:
        if Status(run.status).active and run.owner and not is_alive(run.owner):
            log = store.run_dir(run.id) / WORKER_LOG
            store.end_if_active(run.id, Status.FAILED, {"ending": "lost", "error": {
                "message": "the job's process ended without recording an outcome (killed?)"
                + (f"; see {log.name} in the run's folder" if log.exists() else "")}})
            run = store.get(run.id)
        fixed.append(run)
    return fixed


def cancel_job(store: RunStore, job_id: str) -> list[str]:
    """Cancel a run, or every unfinished run of a sweep: a queued run is cancelled before it
    starts, a running one gets SIGTERM (its process records it as cancelled). Returns the
    ids it cancelled; StateError if there is nothing to cancel."""
    sweep = store.sweep(job_id)
    runs = reconcile(store, store.list(sweep_id=job_id) if sweep else [store.get(job_id)])
    active = [r for r in runs if Status(r.status).active]
    if not active:
        ended = f"sweep {job_id}: every run has ended" if sweep else \
            f"run {runs[0].id} has already ended ({runs[0].status})"
        raise StateError(f"{ended}; nothing to cancel")
    # queued ones first, so that a worker finishing a run starts none of them
    for run in active:
        if run.status == Status.QUEUED:
            store.end_if_active(run.id, Status.CANCELLED, {
                "ending": "cancelled", "error": {"message": "cancelled before it started"}})
    for run in active:
        if run.status == Status.RUNNING:
            _terminate(run)
    return [r.id for r in active]


def _terminate(run: Run) -> None:
    if not run.owner:
        raise StateError(f"run {run.id} has no recorded process to cancel")
    if not is_local(run.owner):
        host = run.owner.rpartition("@")[2]
        raise StateError(f"run {run.id} runs on {host}: cancel it there")
    if is_alive(run.owner):
        try:
            os.kill(token_pid(run.owner), signal.SIGTERM)
        except ProcessLookupError:
            pass  # it ended meanwhile, recording its own outcome
