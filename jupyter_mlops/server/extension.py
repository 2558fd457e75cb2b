"""Registering the handlers with a Jupyter server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from jupyter_server.utils import url_path_join

from .handlers import ROUTES, Jobs, Tasks


def load_jupyter_server_extension(serverapp) -> None:
    """Add the ``/mlops/api/`` routes; long work goes to a thread pool, off the event loop."""
    web_app = serverapp.web_app
    base = url_path_join(web_app.settings["base_url"], "mlops", "api")
    web_app.settings["mlops_tasks"] = Tasks(ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="mlops-task"))
    web_app.settings["mlops_jobs"] = Jobs()
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler)
                                 for path, handler in ROUTES])
    serverapp.log.info("jupyter-mlops: API at %s", base)
