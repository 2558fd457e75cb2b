"""The jupyter_server extension app: routes under ``/mlops/api/`` and what an operator tunes.

Configure it like any Jupyter app, e.g. in ``jupyter_server_config.py``::

    c.MlopsExtension.task_workers = 4      # productionize tasks at once
    c.MlopsExtension.task_expiry = 600     # seconds a finished task stays readable
    c.MlopsExtension.job_workers = 2       # worker processes per sweep started from the UI
                                           # (default: one per core, at most 4)
    c.MlopsExtension.standby_kernel = False  # no worker + kernel waiting for "Run as Job"
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float, Int

from .handlers import ROUTES
from .pipeline_handlers import ROUTES as PIPELINE_ROUTES
from .registry_handlers import ROUTES as REGISTRY_ROUTES
from .tasks import Tasks


class MlopsExtension(ExtensionApp):
    """jupyter-mlops inside a Jupyter server: thin handlers over the core, long work off the
    event loop (a thread pool for productionize, worker processes for jobs)."""

    name = "jupyter_mlops"
    load_other_extensions = True

    task_workers = Int(2, config=True, help="productionize tasks that run at the same time "
                                            "(each runs a kernel, pylint and pytest)")
    task_expiry = Float(3600.0, config=True, help="seconds a finished productionize task is "
                                                  "kept for GET tasks/{id}")
    job_workers = Int(min(4, os.cpu_count() or 1), config=True,
                      help="worker processes that share the runs of a sweep started with POST "
                           "runs (default: one per core, at most 4), so its members run in "
                           "parallel")

    standby_kernel = Bool(True, config=True, help="keep one worker process with a started "
                                                  "kernel waiting, so that a job started with "
                                                  "POST runs skips their start-up")

    standby = None  # the waiting worker (jobs.standby.Standby), when standby_kernel is on

    def initialize_settings(self) -> None:
        """The task registry, sized from the traitlets; the standby worker, if wanted."""
        self.tasks = Tasks(  # pylint: disable=attribute-defined-outside-init
            max(1, self.task_workers), self.task_expiry, self._error_body)
        if self.standby_kernel:
            from ..jobs.standby import Standby  # pylint: disable=import-outside-toplevel

            self.standby = Standby(Path(self.serverapp.root_dir).resolve())
            self.standby.start()

    def initialize_handlers(self) -> None:
        """Add the ``/mlops/api/`` routes (the base URL is prepended by the server)."""
        self.handlers.extend((url_path_join("mlops", "api", path), handler)
                             for path, handler in [*ROUTES, *PIPELINE_ROUTES,
                                                   *REGISTRY_ROUTES])
        self.log.info("jupyter-mlops: API at %s", url_path_join(
            self.serverapp.base_url, "mlops", "api"))

    @staticmethod
    def _error_body(exc) -> dict:
        from .handlers import http_status  # pylint: disable=import-outside-toplevel

        return {**exc.to_dict(), "status": http_status(exc)}

    async def stop_extension(self) -> None:
        """Stop taking tasks when the server stops (jobs run on in their own processes); the
        standby worker, which has no job, ends."""
        self.tasks.shutdown()
        if self.standby is not None:
            self.standby.stop()
