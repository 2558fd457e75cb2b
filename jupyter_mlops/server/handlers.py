"""Thin tornado handlers: parse (pydantic), one core call, JSON back.

Every verb is behind Jupyter's authentication and authorization. Paths are relative to the
server root; anything resolving outside it (``..``, absolute paths, symlinks out) is refused,
and an output directory must lie strictly inside it. Every request is validated here, in the
server process, before any work starts. ``MlopsError`` subclasses map to HTTP statuses in one
place (``STATUS``, used by ``write_error``); any other failure is a JSON 500 without a
traceback; file names in answers are relative to the root.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel, ValidationError

from ..errors import (CheckFailed, ConfigError, ExecutionError, MlopsError, NotebookError,
                      NotebookNotFound, OutputError, StateError, StoreError, UnknownError)
from .models import (Cancelling, ProductionizeRequest, Progress, RunList, RunStarted, RunView,
                     SetRoleRequest, StartRunRequest, TaskStarted, checked_path)
from .tasks import Tasks

AUTH_RESOURCE = "mlops"
#: The one mapping from our errors to HTTP statuses (first match wins).
STATUS = ((NotebookNotFound, 404), (UnknownError, 404), (StateError, 409),
          (OutputError, 409), (CheckFailed, 409), (StoreError, 503), (ExecutionError, 500),
          (NotebookError, 422), (ConfigError, 400), (MlopsError, 400))


def http_status(exc: MlopsError) -> int:
    """The HTTP status for an error of ours."""
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def scrubbed(value: Any, root: str) -> Any:
    """``value`` with the server root taken out of every string in it: files are named as the
    client names them, and the server's layout is not disclosed."""
    if isinstance(value, str):
        return value.replace(root + os.sep, "").replace(root, ".")
    if isinstance(value, dict):
        return {key: scrubbed(item, root) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrubbed(item, root) for item in value]
    return value


class MlopsHandler(ExtensionHandlerMixin, APIHandler):
    """Shared parsing, path confinement and error mapping."""

    auth_resource = AUTH_RESOURCE

    @property
    def root(self) -> Path:
        """The server root, resolved."""
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def confined(self, path: Optional[str]) -> Path:
        """The absolute path for ``path`` under the server root; 400 if malformed, 403 if it
        leaves the root."""
        try:
            checked_path(path or "")
        except ValueError as exc:
            raise tornado.web.HTTPError(400, str(exc)) from None
        if Path(path).is_absolute() or path.startswith("~"):
            raise tornado.web.HTTPError(403, "paths are relative to the server root")
        root = self.root
        target = (root / path).resolve()
        if target != root and root not in target.parents:
            raise tornado.web.HTTPError(403, "that path is outside the server root")
        return target

    def output_dir(self, path: Optional[str], notebook: Path) -> Path:
        """Where productionize may write: strictly inside the root (never the root itself,
        nor a folder holding the notebook)."""
        out = self.confined(path) if path else notebook.parent / "build" / notebook.stem
        if out == self.root:
            raise tornado.web.HTTPError(403, "the output directory cannot be the server root")
        if out in notebook.parents:
            raise tornado.web.HTTPError(403, "the output directory cannot hold the notebook")
        return out

    def relative(self, path: Path) -> str:
        """``path`` as the client names it: relative to the server root."""
        return path.relative_to(self.root).as_posix()

    def client_path(self, path: Optional[str]) -> Optional[str]:
        """A file as the UI can open it (relative to the root), None if outside it."""
        if not path:
            return None
        resolved = Path(path).resolve()
        return self.relative(resolved) if self.root in resolved.parents else None

    def error_body(self, exc: MlopsError) -> dict:
        """Our error as the client gets it: its JSON form, status, no server paths."""
        return scrubbed({**exc.to_dict(), "status": http_status(exc)}, str(self.root))

    def body(self, model: type[BaseModel]) -> Any:
        """The JSON body parsed into ``model``; 400 with pydantic's reason otherwise."""
        try:
            return model.model_validate_json(self.request.body or b"{}")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            reason = first["msg"].removeprefix("Value error, ")
            raise tornado.web.HTTPError(400, f"{where}: {reason}" if where else reason) from None

    def reply(self, model: BaseModel, status: int = 200) -> None:
        """Answer with a response model as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(model.model_dump_json(exclude_none=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is JSON: ours with their status and body, HTTP errors with their
        reason, anything else a 500 that names no file and shows no traceback."""
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, MlopsError):
            status_code, body = http_status(exc), self.error_body(exc)
        elif isinstance(exc, tornado.web.HTTPError):
            reason = exc.log_message or self._reason
            body = {"error": "HTTPError", "message": scrubbed(reason, str(self.root)),
                    "status": status_code}
        else:
            body = {"error": "InternalError", "status": 500,
                    "message": "the server failed on this request; its log has the details"}
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:
        """Our errors are answers, not server faults: one line in the log, no traceback."""
        if isinstance(value, MlopsError):
            self.log.info("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    @property
    def tasks(self) -> Tasks:
        """The server's productionize tasks."""
        return self.extensionapp.tasks

    def store(self):
        """The run store of the server root's project."""
        from ..store import RunStore, find_home  # pylint: disable=import-outside-toplevel

        return RunStore(find_home(self.root))


class RolesHandler(MlopsHandler):
    """Cells of a notebook with their roles; set one cell's role."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """The notebook's cells with number, id, type and role."""
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        cells = [{"number": c.number, "id": c.cell_id, "type": c.cell_type, "role": c.role}
                 for c in nb.cells]
        self.finish(json.dumps({"cells": cells}))

    @tornado.web.authenticated
    @authorized
    async def put(self) -> None:
        """Set (or clear) one cell's role in the notebook file."""
        from ..notebook import with_role  # pylint: disable=import-outside-toplevel

        change = self.body(SetRoleRequest)
        cell = with_role(self.confined(change.path), change.cell, change.role)
        self.finish(json.dumps({"number": cell.number, "id": cell.cell_id, "role": cell.role}))


class SuggestHandler(MlopsHandler):
    """Suggested roles for a notebook's cells (nothing is written)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Proposed roles; nothing is written."""
        from ..extract.suggest import suggest_roles  # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        self.finish(json.dumps({"suggestions": [s.to_dict() for s in suggest_roles(nb)]}))


class ParametersHandler(MlopsHandler):
    """The parameters cell's names, defaults and types: the Run dialog's form."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """Names, defaults and types of the parameters cell."""
        from ..extract.plan import notebook_parameters  # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        self.finish(json.dumps({"parameters": [
            {"name": p.name, "default": p.default, "type": p.type_name}
            for p in notebook_parameters(nb)]}))


class ProductionizeHandler(MlopsHandler):
    """Check the request here, then productionize as a task; poll ``tasks/{id}``."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """202 with the task id, after the request was checked."""
        # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook
        from ..package.writer import OutputGuard
        from ..productionize import productionize

        request = self.body(ProductionizeRequest)
        notebook = self.confined(request.path)
        out = self.output_dir(request.out, notebook)
        # a missing notebook, a foreign or hand-edited output: refused now, not in a task
        await asyncio.to_thread(read_notebook, notebook)
        await asyncio.to_thread(OutputGuard.check, out, request.force)
        root = str(self.root)

        def work(progress: Callable[[str], None]) -> dict:
            result = productionize(notebook, out, force=request.force,
                                   execute=request.execute, progress=progress).to_dict()
            result["out_dir"] = self.relative(out)
            result["notebook"] = self.relative(notebook)
            return scrubbed(result, root)

        self.reply(TaskStarted(task=self.tasks.start("productionize", work)), 202)


class TaskHandler(MlopsHandler):
    """Status, progress messages and the result (or error) of one task."""

    @tornado.web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        """The task's state; 404 once it expired."""
        task = self.tasks.get(task_id)
        if task is None:
            raise tornado.web.HTTPError(404, f"no task {task_id} (unknown, or finished long "
                                             "enough ago to be forgotten)")
        task.error = scrubbed(task.error, str(self.root))
        self.reply(task)


class RunsHandler(MlopsHandler):
    """List runs; start a training job."""

    def view(self, data: dict, progress: Optional[dict]) -> RunView:
        """A run's JSON with its files relative to the root (None for files outside it)."""
        files = data.get("files") or {}
        data["files"] = {key: self.client_path(value) for key, value in files.items()}
        data["executed_path"] = data["files"].get("executed")
        data["notebook_path"] = self.client_path(data.get("notebook_path"))
        data["inputs"] = [{**item, "path": self.client_path(item.get("path"))}
                          for item in data.get("inputs") or []]
        data["progress"] = None if progress is None else Progress(
            done=progress["done"], total=progress.get("total"),
            cell=(f"cell {progress['cell_number']} (id {progress['cell_id']})"
                  if progress.get("cell_number") else "injected parameters"))
        return RunView.model_validate(scrubbed(data, str(self.root)))

    def runs_view(self, runs) -> list[RunView]:
        """Runs as the client sees them, live progress only while they run."""
        views = []
        for run in runs:
            data = run.to_dict()
            data.pop("environment", None)  # large; GET runs/{id} has it
            views.append(self.view(data, run.progress if run.status == "running" else None))
        return views

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """The newest runs, with progress while they run."""
        from ..jobs.launch import reconcile  # pylint: disable=import-outside-toplevel

        def listed():
            store = self.store()
            return reconcile(store, store.list())

        self.reply(RunList(runs=self.runs_view(await asyncio.to_thread(listed))))

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        """202 with the run or sweep id, after everything was checked."""
        from ..jobs.launch import start_job  # pylint: disable=import-outside-toplevel

        request = self.body(StartRunRequest)
        notebook = self.confined(request.path)
        # validated in this process (notebook, parameter types) before any process starts
        standby = self.extensionapp.standby
        launched = await asyncio.to_thread(
            start_job, notebook, request.parameters, home=self.store().home,
            workers=self.extensionapp.job_workers, standby=standby)
        self.reply(RunStarted.model_validate(launched.to_dict()), 202)
        if standby is not None:
            await asyncio.to_thread(standby.start)  # the next job's worker and kernel


class RunHandler(RunsHandler):
    """One run (with live progress while it runs); DELETE cancels it (or a sweep)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:  # pylint: disable=arguments-differ
        """One run with its whole record."""
        from ..jobs.launch import reconcile  # pylint: disable=import-outside-toplevel

        def found():
            store = self.store()
            return reconcile(store, [store.get(run_id)])[0]

        run = await asyncio.to_thread(found)
        progress = run.progress if run.status == "running" else None
        self.reply(self.view(run.to_dict(), progress))

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        """Cancel the run (or every unfinished run of a sweep)."""
        from ..jobs.launch import cancel_job  # pylint: disable=import-outside-toplevel

        cancelled = await asyncio.to_thread(lambda: cancel_job(self.store(), run_id))
        self.reply(Cancelling(run=run_id, cancelled=cancelled), 202)


ROUTES = [
    ("roles", RolesHandler),
    ("suggest", SuggestHandler),
    ("parameters", ParametersHandler),
    ("productionize", ProductionizeHandler),
    (r"tasks/(\w+)", TaskHandler),
    ("runs", RunsHandler),
    (r"runs/([\w-]+)", RunHandler),
]
