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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import ConfigError, plain
from ..extract.plan import notebook_parameters
from ..notebook import Notebook, read_notebook
from ..processes import process_token
from ..store import Run, RunStore, find_home
from ..tracking import ARTIFACTS_FILE, METRICS_FILE, RUN_DIR_ENV, excluded_roots
from .lineage import cell_hashes, environment, git_state, named_files, recorded_inputs
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


def _kernel_line(run_dir: Path) -> str:
    # Runs at kernel start: point log_metric at this run and watch which data files are read.
    return (f"__import__('os').environ[{RUN_DIR_ENV!r}] = {str(run_dir)!r}; "
            "__import__('jupyter_mlops.tracking').tracking.start_audit()")


def _start_kernel(name: str, run_dir: Path, cwd: Path, log: Any) -> Any:
    """Launch the job's kernel before papermill is even imported, so that its start-up
    overlaps ours (the import, parameterizing the notebook) instead of following it."""
    # pylint: disable=import-outside-toplevel
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    km = AsyncKernelManager(kernel_name=name)
    # History in memory, as nbclient does for kernels it starts: a job must not write the
    # user's IPython history database.
    run_sync(km.start_kernel)(cwd=str(cwd), stderr=log, extra_arguments=[
        f"--IPKernelApp.exec_lines={_kernel_line(run_dir)}",
        "--HistoryManager.hist_file=:memory:"])
    return km


def _stop_kernel(km: Any) -> None:
    """Kill a kernel nbclient never took over (papermill failed before executing)."""
    from jupyter_core.utils import run_sync  # pylint: disable=import-outside-toplevel

    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


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
        return "failed", "error", {"message": (
            f"the notebook's kernel {kernel!r} is not installed here; `jupyter kernelspec "
            "list` shows the installed kernels (set one in the notebook's Kernel menu)")}
    if isinstance(exc, DeadKernelError):
        return "failed", "kernel_died", {"message": f"the kernel died: {exc}"}
    if isinstance(exc, (CellTimeoutError, TimeoutError)):
        return "failed", "timeout", {"message": f"a cell timed out: {exc}"}
    return "failed", "error", {"message": f"{type(exc).__name__}: {exc}"}


def execute_run(store: RunStore, nb: Notebook, nb_path: Path, values: dict, *,
                sweep_id: Optional[str] = None, progress: Optional[ProgressCallback] = None,
                timeout: Optional[float] = None,
                announce: Optional[Callable[[str], None]] = None,
                tracking: Optional[str] = None, run_id: Optional[str] = None) -> Run:
    """Run the notebook with papermill as a recorded job; always returns the final record.

    ``tracking`` is an MLflow tracking URI the finished run is mirrored to. ``run_id`` is a
    run already recorded as queued (``launch.start_job``); else a new one is recorded. This
    process is recorded as the run's owner, and its progress goes to the store at each cell,
    so any process (the server, the widget, ``cancel_job``) can follow and cancel it.
    """
    if run_id is None:
        run_id = store.create_run(shown_path(nb_path, store), nb.sha256, values, sweep_id)
    store.set_owner([run_id], process_token())
    if announce is not None:
        announce(run_id)
    run_dir = store.run_dir(run_id)
    executed = run_dir / EXECUTED
    numbers = {c.cell_id: c.number for c in nb.cells}
    kernel = nb.kernel_name or "python3"  # papermill alone fails with "No kernel name found"
    status, ending, error = "succeeded", "succeeded", None
    current: dict = {}
    km = git = env = None
    named: dict = {}

    def track(where: Progress) -> None:
        current["cell_id"] = where.cell_id
        store.set_progress(run_id, {"done": where.done, "total": where.total,
                                    "cell_number": where.cell_number,
                                    "cell_id": where.cell_id,
                                    "finished": where.finished_cell})
        if progress is not None:
            progress(where)

    try:
        with ExitStack() as files:
            out, err = (files.enter_context(open(run_dir / name, "w", encoding="utf-8"))
                        for name in ("stdout.txt", "stderr.txt"))
            store.update(run_id, status="running", started=time.time(), record={
                "notebook_path": str(nb_path), "kernel": kernel, "cells": cell_hashes(nb),
                "files": {"executed": str(executed), "stdout": str(run_dir / "stdout.txt"),
                          "stderr": str(run_dir / "stderr.txt"),
                          "kernel_log": str(run_dir / "kernel.log")},
            })
            # the kernel process's own stderr: a crashing kernel says why there
            km = _start_kernel(kernel, run_dir, nb_path.parent,
                               files.enter_context(open(run_dir / "kernel.log", "wb")))
            # files the code names, as they are before any cell runs (the kernel is starting)
            named = named_files(nb, nb_path, values,
                                excluded_roots() + (os.path.realpath(store.home),))
            # git and the installed-package scan take a moment: do them while the kernel works
            lineage = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-lineage")
            git, env = lineage.submit(git_state, nb_path.parent), lineage.submit(environment)
            lineage.shutdown(wait=False)
            quiet_black_warning()
            import papermill  # pylint: disable=import-outside-toplevel

            from .engine import ENGINE_NAME  # pylint: disable=import-outside-toplevel

            papermill.execute_notebook(
                str(nb_path), str(executed), parameters=values, engine_name=ENGINE_NAME,
                kernel_name=kernel, language=nb.language or "python", progress_bar=False,
                cwd=str(nb_path.parent), km=km,
                stdout_file=out, stderr_file=err, log_output=False,
                execution_timeout=timeout, mlops_progress=track, mlops_cell_numbers=numbers,
            )
    except BaseException as exc:  # pylint: disable=broad-exception-caught  # recorded below
        status, ending, error = _failure(exc, numbers, current, kernel)
        error = {key: plain(value) if isinstance(value, str) else value
                 for key, value in error.items()}
        if not isinstance(exc, (Exception, KeyboardInterrupt)):
            raise
    finally:
        _stop_kernel(km)
        store.add_metrics(run_id, _jsonl(run_dir / METRICS_FILE))
        store.update(run_id, status=status, ended=time.time(), record={
            "ending": ending, "error": error, "inputs": recorded_inputs(run_dir, named),
            "git": git.result() if git else None, "environment": env.result() if env else None,
            "artifacts": _jsonl(run_dir / ARTIFACTS_FILE),
        })
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
