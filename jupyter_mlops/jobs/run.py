"""One recorded training job: a fixed sequence that records status at every step.

queued -> running (lineage recorded) -> papermill execution -> succeeded | failed | cancelled,
with metrics, artifacts, inputs and logs collected whatever happened. Nothing is lost: the
executed notebook is saved after every cell, and a failure keeps the cell and the error.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import ExitStack
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import ConfigError, plain
from ..extract.plan import notebook_parameters
from ..notebook import Notebook, read_notebook
from ..processes import process_token
from ..store import Run, RunStore, find_home
from ..tracking import ARTIFACTS_FILE, METRICS_FILE, excluded_roots
from .kernels import KERNEL_LOG, KernelPool, fresh_kernel, missing_kernel, stop_kernel
from .lineage import cached_environment, cell_hashes, git_state, named_files, recorded_inputs
from .params import typed_parameters
from .progress import Progress, ProgressCallback

#: Exit codes by how a run ended (the CLI returns them; CI tells failure kinds apart).
EXIT_CODES = {"succeeded": 0, "cell_error": 1, "error": 1, "kernel_died": 3, "timeout": 4,
              "cancelled": 130}
EXECUTED = "executed.ipynb"


@dataclass(frozen=True)
class JobOutcome:
    """A finished run and the exit code its ending maps to."""

    run: Run
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 succeeded, 1 cell error, 3 kernel died, 4 timeout, 130 cancelled."""
        return EXIT_CODES.get(self.run.record.get("ending", "error"), 1)


def _demote_black_noise(record: logging.LogRecord) -> bool:
    """Turn papermill's "Black encountered an error, skipping formatting" into a debug record:
    black only prettifies the injected parameters cell, and failing to is nothing a user can
    act on (a logging filter; it keeps every record)."""
    if record.getMessage().startswith("Black encountered an error"):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
    return True


def quiet_black_warning() -> None:
    """Install :func:`_demote_black_noise` on papermill's translators logger (once)."""
    logger = logging.getLogger("papermill.translators")
    if _demote_black_noise not in logger.filters:
        logger.addFilter(_demote_black_noise)


def _jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _failure(exc: BaseException, numbers: dict, current: dict,
             kernel: str) -> tuple[str, str, dict]:
    """(status, ending, error) for an exception out of the kernel start or papermill."""
    # pylint: disable=import-outside-toplevel
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, KeyboardInterrupt):
        return "cancelled", "cancelled", {"message": "cancelled (interrupt or SIGTERM)"}
    if isinstance(exc, PapermillExecutionError):
        cell_id = current.get("cell_id")
        number = numbers.get(cell_id)
        return "failed", "cell_error", {
            "cell_number": number, "cell_id": cell_id, "ename": exc.ename,
            "evalue": exc.evalue, "message": f"cell {number} raised {exc.ename}: {exc.evalue}"}
    if isinstance(exc, NoSuchKernel):
        return "failed", "error", {"message": missing_kernel(kernel)}
    if isinstance(exc, DeadKernelError):
        return "failed", "kernel_died", {"message": f"the kernel died: {exc}"}
    if isinstance(exc, (CellTimeoutError, TimeoutError)):
        return "failed", "timeout", {"message": f"a cell timed out: {exc}"}
    return "failed", "error", {"message": f"{type(exc).__name__}: {exc}"}


@dataclass
class _Clock:
    """Where a run's wall time goes (``runs show RUN --timings``)."""

    begun: float = field(default_factory=time.perf_counter)
    first_cell: Optional[float] = None
    lineage_before_first: float = 0.0
    executed: Optional[float] = None
    lineage: float = 0.0
    kernel_wait: float = 0.0
    pre_started: bool = False

    def timed(self, work: Callable[[], Any]) -> Any:
        """``work()``, its time counted as lineage (on the run's critical path)."""
        at = time.perf_counter()
        try:
            return work()
        finally:
            self.lineage += time.perf_counter() - at

    def phases(self, saving: float) -> dict:
        """Seconds per phase, one after the other: kernel start (launch to first cell, with
        papermill's parameterizing), execution, lineage (the part the run waited for),
        saving; and the total."""
        end = time.perf_counter()
        first = self.first_cell or self.executed or end
        executed = self.executed or end
        before = self.lineage_before_first if self.first_cell else self.lineage
        return {"kernel_start": round(max(0.0, first - self.begun - before), 4),
                "kernel_pre_started": self.pre_started,
                "kernel_wait": round(self.kernel_wait, 4),
                "execution": round(max(0.0, executed - first), 4),
                "lineage": round(self.lineage, 4), "saving": round(saving, 4),
                "total": round(end - self.begun, 4)}


@dataclass
class _Job:
    """One run in progress: what execute_run's steps share."""

    store: RunStore
    run_id: str
    nb: Notebook
    nb_path: Path
    values: dict
    progress: Optional[ProgressCallback]
    clock: _Clock = field(default_factory=_Clock)
    current: dict = field(default_factory=dict)
    named: dict = field(default_factory=dict)
    lineage: Optional[Future] = None
    kernel: Any = None

    @property
    def run_dir(self) -> Path:
        """The run's folder in the store."""
        return self.store.run_dir(self.run_id)

    @property
    def numbers(self) -> dict:
        """Cell id -> cell number."""
        return {c.cell_id: c.number for c in self.nb.cells}

    def track(self, where: Progress) -> None:
        """Record progress in the store (any process can follow it) and pass it on."""
        if self.clock.first_cell is None:
            self.clock.first_cell = time.perf_counter()
            self.clock.lineage_before_first = self.clock.lineage
        self.current["cell_id"] = where.cell_id
        self.store.set_progress(self.run_id, {
            "done": where.done, "total": where.total, "cell_number": where.cell_number,
            "cell_id": where.cell_id, "finished": where.finished_cell})
        if self.progress is not None:
            self.progress(where)


def _lineage(folder: Path, home: Path) -> dict:
    """git state and the environment, off the run's critical path (its own thread)."""
    return {"git": git_state(folder), "environment": cached_environment(home)}


def _execute(job: _Job, kernel_name: str, timeout: Optional[float],
             kernels: Optional[KernelPool]) -> None:
    """Start (or take) the kernel, then papermill on it; lineage is taken meanwhile."""
    run_dir = job.run_dir
    executed = run_dir / EXECUTED
    with ExitStack() as files:
        out, err = (files.enter_context(open(run_dir / name, "w", encoding="utf-8"))
                    for name in ("stdout.txt", "stderr.txt"))
        job.store.update(job.run_id, status="running", started=time.time(), record={
            "notebook_path": str(job.nb_path), "kernel": kernel_name,
            "cells": cell_hashes(job.nb),
            "files": {"executed": str(executed), "stdout": str(run_dir / "stdout.txt"),
                      "stderr": str(run_dir / "stderr.txt"),
                      "kernel_log": str(run_dir / KERNEL_LOG)}})
        # the kernel first, so that its start-up overlaps the steps below
        kernel = (kernels.take(kernel_name, run_dir, job.nb_path.parent) if kernels
                  else fresh_kernel(kernel_name, run_dir, job.nb_path.parent))
        job.kernel = kernel.km
        job.clock.kernel_wait, job.clock.pre_started = kernel.wait, kernel.pre_started
        # files the code names, as they are before any cell runs
        job.named = job.clock.timed(lambda: named_files(
            job.nb, job.nb_path, job.values,
            excluded_roots() + (os.path.realpath(job.store.home),)))
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-lineage")
        job.lineage = background.submit(_lineage, job.nb_path.parent, job.store.home)
        background.shutdown(wait=False)
        quiet_black_warning()
        import papermill  # pylint: disable=import-outside-toplevel

        from .engine import ENGINE_NAME  # pylint: disable=import-outside-toplevel

        papermill.execute_notebook(
            str(job.nb_path), str(executed), parameters=job.values, engine_name=ENGINE_NAME,
            kernel_name=kernel_name, language=job.nb.language or "python", progress_bar=False,
            cwd=str(job.nb_path.parent), km=kernel.km, stdout_file=out, stderr_file=err,
            log_output=False, execution_timeout=timeout, mlops_progress=job.track,
            mlops_cell_numbers=job.numbers)
        job.clock.executed = time.perf_counter()


def _finish(job: _Job, status: str, ending: str, error: Optional[dict]) -> None:
    """Record the outcome with metrics, artifacts, inputs, lineage and the timings."""
    stop_kernel(job.kernel)
    if job.clock.executed is None:
        job.clock.executed = time.perf_counter()
    lineage = job.clock.timed(lambda: job.lineage.result() if job.lineage else {})
    inputs = job.clock.timed(lambda: recorded_inputs(job.run_dir, job.named))
    saving = time.perf_counter()
    job.store.add_metrics(job.run_id, _jsonl(job.run_dir / METRICS_FILE))
    record = {"ending": ending, "error": error, "inputs": inputs,
              "git": lineage.get("git"), "environment": lineage.get("environment"),
              "artifacts": _jsonl(job.run_dir / ARTIFACTS_FILE)}
    job.store.update(job.run_id, status=status, ended=time.time(), record=record)
    job.store.update(job.run_id, record={
        "timings": job.clock.phases(time.perf_counter() - saving)})


# every option past the fourth is keyword-only, named by the callers that need it
def execute_run(  # pylint: disable=too-many-arguments
        store: RunStore, nb: Notebook, nb_path: Path, values: dict, *,
        sweep_id: Optional[str] = None, progress: Optional[ProgressCallback] = None,
        timeout: Optional[float] = None, announce: Optional[Callable[[str], None]] = None,
        tracking: Optional[str] = None, run_id: Optional[str] = None,
        kernels: Optional[KernelPool] = None) -> Run:
    """Run the notebook with papermill as a recorded job; always returns the final record.

    ``tracking`` is an MLflow tracking URI the finished run is mirrored to. ``run_id`` is a
    run already recorded as queued (``launch.start_job``); else a new one is recorded. This
    process is recorded as the run's owner, and its progress goes to the store at each cell,
    so any process (the server, the widget, ``cancel_job``) can follow and cancel it.
    ``kernels`` hands out pre-started kernels (sweeps, the server's standby worker).
    """
    if run_id is None:
        run_id = store.create_run(shown_path(nb_path, store), nb.sha256, values, sweep_id)
    store.set_owner([run_id], process_token())
    if announce is not None:
        announce(run_id)
    job = _Job(store, run_id, nb, nb_path, values, progress)
    kernel = nb.kernel_name or "python3"  # papermill alone fails with "No kernel name found"
    status, ending, error = "succeeded", "succeeded", None
    try:
        _execute(job, kernel, timeout, kernels)
    except BaseException as exc:  # pylint: disable=broad-exception-caught  # recorded below
        status, ending, error = _failure(exc, job.numbers, job.current, kernel)
        error = {key: plain(value) if isinstance(value, str) else value
                 for key, value in error.items()}
        if not isinstance(exc, (Exception, KeyboardInterrupt)):
            raise
    finally:
        _finish(job, status, ending, error)
    run = store.get(run_id)
    if tracking:
        run = _mirror(store, run, tracking)
    return run


def _mirror(store: RunStore, run: Run, uri: str) -> Run:
    from .mlflow_tracker import mirror  # pylint: disable=import-outside-toplevel

    try:
        store.update(run.id, record={"mlflow": {"uri": uri,
                                                "run_id": mirror(run, uri, store.run_dir(run.id))}})
    except Exception as exc:  # pylint: disable=broad-exception-caught  # local record is kept
        store.update(run.id, record={"mlflow": {"uri": uri, "error": f"{type(exc).__name__}: "
                                                                     f"{exc}"[:500]}})
    return store.get(run.id)


def shown_path(nb_path: Path, store: RunStore) -> str:
    """The notebook relative to the project (the store's parent) when it is inside it."""
    try:
        return nb_path.relative_to(store.home.parent).as_posix()
    except ValueError:
        return str(nb_path)


def prepare(notebook: os.PathLike, parameters: dict) -> tuple[Notebook, Path, Any]:
    """Read the notebook and type the parameters before any kernel starts."""
    nb_path = Path(notebook).resolve()
    nb = read_notebook(notebook)
    typed = typed_parameters(parameters, notebook_parameters(nb), nb.path)
    return nb, nb_path, typed


def run_job(notebook: os.PathLike, parameters: Optional[dict] = None, *,
            home: Optional[os.PathLike] = None, progress: Optional[ProgressCallback] = None,
            timeout: Optional[float] = None, sweep_id: Optional[str] = None,
            announce: Optional[Callable[[str], None]] = None,
            tracking: Optional[str] = None) -> JobOutcome:
    """Execute ``notebook`` with ``parameters`` as one recorded job."""
    nb, nb_path, typed = prepare(notebook, parameters or {})
    grid = typed.grid()
    if len(grid) != 1:
        raise ConfigError("these parameters describe a sweep; use run_sweep", path=nb.path)
    uri = resolve_tracking(tracking)
    store = RunStore(home or find_home(nb_path.parent))
    run = execute_run(store, nb, nb_path, grid[0], sweep_id=sweep_id, progress=progress,
                      timeout=timeout, announce=announce, tracking=uri)
    return JobOutcome(run, typed.warnings)


def resolve_tracking(value: Optional[str]) -> Optional[str]:
    """The MLflow URI to mirror to (checked before any kernel starts), or None."""
    from .mlflow_tracker import check_mlflow, tracking_uri  # pylint: disable=C0415

    uri = tracking_uri(value)
    if uri:
        check_mlflow(uri)
    return uri
