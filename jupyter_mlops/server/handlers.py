"""Thin tornado handlers: parse (pydantic), one core call, JSON back.

Every verb is behind Jupyter's authentication and authorization. Paths are relative to the
server root; anything resolving outside it (``..``, absolute paths, symlinks out) is refused.
``MlopsError`` subclasses map to HTTP statuses in one place: ``STATUS``.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError

from ..errors import (CheckFailed, ConfigError, ExecutionError, MlopsError, NotebookError,
                      NotebookNotFound, OutputError)

AUTH_RESOURCE = "mlops"
#: The one mapping from our errors to HTTP statuses (first match wins).
STATUS = ((NotebookNotFound, 404), (OutputError, 409), (CheckFailed, 409),
          (ExecutionError, 500), (NotebookError, 422), (ConfigError, 400), (MlopsError, 400))


def http_status(exc: MlopsError) -> int:
    """The HTTP status for an error of ours."""
    return next(code for kind, code in STATUS if isinstance(exc, kind))


class Tasks:
    """Long-running work (productionize, jobs) in a thread pool, with progress to poll."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.items: dict[str, dict] = {}
        self.lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Callable[[str], None]], Any]) -> str:
        """Run ``work(progress)`` in the pool; return the task id."""
        task_id = uuid.uuid4().hex[:12]
        task = {"id": task_id, "kind": kind, "status": "running", "progress": [],
                "result": None, "error": None}
        with self.lock:
            self.items[task_id] = task

        def progress(message: str) -> None:
            with self.lock:
                task["progress"].append(message)

        def run() -> None:
            try:
                result = work(progress)
                task["result"] = result.to_dict() if hasattr(result, "to_dict") else result
                task["status"] = "done"
            except MlopsError as exc:
                task["error"] = {**exc.to_dict(), "status": http_status(exc)}
                task["status"] = "failed"
            except Exception as exc:  # pylint: disable=broad-exception-caught  # reported
                task["error"] = {"error": type(exc).__name__, "message": str(exc),
                                 "status": 500}
                task["status"] = "failed"

        self.pool.submit(run)
        return task_id

    def get(self, task_id: str) -> Optional[dict]:
        """A snapshot of one task, or None."""
        with self.lock:
            task = self.items.get(task_id)
            return None if task is None else json.loads(json.dumps(task, default=str))


class MlopsHandler(APIHandler):
    """Shared parsing, path confinement and error mapping."""

    auth_resource = AUTH_RESOURCE

    def confined(self, path: Optional[str]) -> Path:
        """The absolute path for ``path`` under the server root; 403 if it leaves the root."""
        if not path:
            raise tornado.web.HTTPError(400, "a 'path' relative to the server root is required")
        if Path(path).is_absolute() or path.startswith("~"):
            raise tornado.web.HTTPError(403, "paths are relative to the server root")
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        target = (root / path).resolve()
        if target != root and root not in target.parents:
            raise tornado.web.HTTPError(403, "that path is outside the server root")
        return target

    def relative(self, path: Path) -> str:
        """``path`` as the client names it: relative to the server root."""
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        return path.relative_to(root).as_posix()

    def body(self, model: type[BaseModel]) -> BaseModel:
        """The JSON body parsed into ``model``; 400 with pydantic's reason otherwise."""
        try:
            return model.model_validate_json(self.request.body or b"{}")
        except ValidationError as exc:
            raise tornado.web.HTTPError(400, exc.errors()[0]["msg"]) from None

    def fail(self, exc: MlopsError) -> None:
        """Answer with our error's status and JSON body."""
        self.set_status(http_status(exc))
        self.finish(json.dumps(exc.to_dict()))

    @property
    def tasks(self) -> Tasks:
        """The server's task registry."""
        return self.settings["mlops_tasks"]


class RoleChange(BaseModel):
    """``PUT roles``: one cell's new role (``null`` clears it)."""

    path: str
    cell: str
    role: Optional[str] = None


class RolesHandler(MlopsHandler):
    """Cells of a notebook with their roles; set one cell's role."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        try:
            nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        except MlopsError as exc:
            return self.fail(exc)
        cells = [{"number": c.number, "id": c.cell_id, "type": c.cell_type, "role": c.role}
                 for c in nb.cells]
        return self.finish(json.dumps({"cells": cells}))

    @tornado.web.authenticated
    @authorized
    async def put(self) -> None:
        from ..notebook import with_role  # pylint: disable=import-outside-toplevel

        change = self.body(RoleChange)
        try:
            cell = with_role(self.confined(change.path), change.cell, change.role)
        except MlopsError as exc:
            return self.fail(exc)
        return self.finish(json.dumps({"number": cell.number, "id": cell.cell_id,
                                       "role": cell.role}))


class SuggestHandler(MlopsHandler):
    """Suggested roles for a notebook's cells (nothing is written)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from ..extract.suggest import suggest_roles  # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        try:
            nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        except MlopsError as exc:
            return self.fail(exc)
        return self.finish(json.dumps({"suggestions": [s.to_dict() for s in suggest_roles(nb)]}))


class ProductionizeRequest(BaseModel):
    """``POST productionize``."""

    path: str
    out: Optional[str] = None
    force: bool = False
    execute: bool = True


class ProductionizeHandler(MlopsHandler):
    """Start productionize as a task; poll ``tasks/{id}``."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        from ..productionize import productionize  # pylint: disable=import-outside-toplevel

        request = self.body(ProductionizeRequest)
        notebook = self.confined(request.path)
        out = self.confined(request.out) if request.out else (
            notebook.parent / "build" / notebook.stem)

        def work(progress: Callable[[str], None]) -> dict:
            result = productionize(notebook, out, force=request.force,
                                   execute=request.execute, progress=progress).to_dict()
            result["out_dir"] = self.relative(out)
            result["notebook"] = self.relative(notebook)
            return result

        self.set_status(202)
        self.finish(json.dumps({"task": self.tasks.start("productionize", work)}))


class TaskHandler(MlopsHandler):
    """Status, progress messages and the result (or error) of one task."""

    @tornado.web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        task = self.tasks.get(task_id)
        if task is None:
            raise tornado.web.HTTPError(404, f"no task {task_id}")
        self.finish(json.dumps(task))


ROUTES = [
    ("roles", RolesHandler),
    ("suggest", SuggestHandler),
    ("productionize", ProductionizeHandler),
    (r"tasks/(\w+)", TaskHandler),
]
