"""A background job's process: ``python -m jupyter_mlops.jobs.worker HOME RUN_ID...``.

Started by :func:`jupyter_mlops.jobs.launch.start_job`, or ahead of its job as a standby
(``--standby KERNEL CWD``: its kernel starts at once, the job arrives on stdin, see
:mod:`jupyter_mlops.jobs.standby`). Runs its queued runs one after the
other (a run cancelled before it started is skipped); SIGTERM cancels the run in progress,
which is recorded as cancelled, then the worker goes on with the next queued one.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from ..startup import defer_unused_imports

if TYPE_CHECKING:
    from .kernels import KernelPool

# The rest is imported in the functions: main() defers what start-up never uses first.
# pylint: disable=import-outside-toplevel


def _cancel(signum, frame):
    raise KeyboardInterrupt


def run_queued(home: Path, run_ids: Sequence[str], tracking: Optional[str] = None,
               kernels: Optional["KernelPool"] = None) -> int:
    """Execute each still-queued run (on ``kernels``' pre-started kernels if given); the
    number executed."""
    from ..notebook import read_notebook
    from ..processes import process_token
    from ..store import RunStore
    from ..store.db import Status
    from .run import execute_run

    store = RunStore(home)
    owner = process_token()
    executed = 0
    for run_id in run_ids:
        try:
            if not store.claim(run_id, owner):
                continue  # cancelled before it started
            run = store.get(run_id)
            nb_path = Path(run.record["notebook_path"])
            execute_run(store, read_notebook(nb_path), nb_path, run.parameters,
                        sweep_id=run.sweep_id, tracking=tracking, run_id=run_id,
                        kernels=kernels)
            executed += 1
        except KeyboardInterrupt:  # between two steps of the run: it is cancelled all the same
            store.end_if_active(run_id, Status.CANCELLED, {
                "ending": "cancelled", "error": {"message": "cancelled (SIGTERM)"}})
        except Exception as exc:  # pylint: disable=broad-exception-caught  # recorded
            store.end_if_active(run_id, Status.FAILED, {
                "ending": "error", "error": {"message": f"{type(exc).__name__}: {exc}"}})
    return executed


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the worker process: ``HOME RUN_ID... [--tracking URI]`` (written by
    ``launch``, never by hand, so a plain split is all the parsing it needs)."""
    defer_unused_imports()
    args = list(sys.argv[1:] if argv is None else argv)
    tracking = None
    if "--tracking" in args:
        at = args.index("--tracking")
        tracking = args[at + 1]
        del args[at:at + 2]
    signal.signal(signal.SIGTERM, _cancel)
    signal.signal(signal.SIGINT, _cancel)
    if args[0] == "--standby":
        return _standby(args[1], Path(args[2]))
    run_queued(Path(args[0]), args[1:], tracking)
    return 0


def _standby(kernel: str, cwd: Path) -> int:
    """Wait with a started kernel, then run the job handed over on stdin."""
    from .standby import wait_for_job

    try:
        job = wait_for_job(kernel, cwd)
    except KeyboardInterrupt:
        return 0  # stopped while waiting (the server stopped): nothing was handed over
    if job is None:
        return 0
    try:
        run_queued(Path(job["home"]), job["runs"], job.get("tracking"), job["kernels"])
    finally:
        job["kernels"].close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
