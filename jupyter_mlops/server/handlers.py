"""Thin tornado handlers: parse (pydantic), one core call, JSON back.

Every verb is behind Jupyter's authentication and authorization. Paths are relative to the
server root; anything resolving outside it (``..``, absolute paths, symlinks out) is refused.
``MlopsError`` subclasses map to HTTP statuses in one place: ``STATUS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
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

    def client_error(self, error: dict) -> dict:
        """An error body naming files as the client does (relative to the server root): the
        user sees ``broken.ipynb cell 3``, and the server's layout is not disclosed."""
        root = str(Path(self.settings["server_root_dir"]).expanduser().resolve()) + os.sep
        return {key: value.replace(root, "") if isinstance(value, str) else value
                for key, value in error.items()}

    def body(self, model: type[BaseModel]) -> BaseModel:
        """The JSON body parsed into ``model``; 400 with pydantic's reason otherwise."""
        try:
            return model.model_validate_json(self.request.body or b"{}")
        except ValidationError as exc:
            raise tornado.web.HTTPError(400, exc.errors()[0]["msg"]) from None

    def fail(self, exc: MlopsError) -> None:
        """Answer with our error's status and JSON body."""
        self.set_status(http_status(exc))
        self.finish(json.dumps(self.client_error(exc.to_dict())))

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


class ParametersHandler(MlopsHandler):
    """The parameters cell's names, defaults and types: the Run dialog's form."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        from ..extract.plan import notebook_parameters  # pylint: disable=import-outside-toplevel
        from ..notebook import read_notebook  # pylint: disable=import-outside-toplevel

        try:
            nb = read_notebook(self.confined(self.get_query_argument("path", None)))
        except MlopsError as exc:
            return self.fail(exc)
        return self.finish(json.dumps({"parameters": [
            {"name": p.name, "default": p.default, "type": p.type_name}
            for p in notebook_parameters(nb)]}))


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
        if task["error"]:
            task["error"] = self.client_error(task["error"])
        self.finish(json.dumps(task))


class RunRequest(BaseModel):
    """``POST runs``: a notebook and its parameter values (a comma list is a sweep)."""

    path: str
    parameters: dict[str, Any] = {}


class Jobs:
    """Training jobs the server started: each a ``jupyter mlops run`` process, so a job
    survives nothing it should not share with the server, and cancel is a SIGTERM (which the
    run records as cancelled). A reader thread turns its progress lines into live state."""

    def __init__(self) -> None:
        self.live: dict[str, dict] = {}
        self.lock = threading.Lock()

    def start(self, notebook: Path, parameters: dict, home: Path) -> tuple[str, str]:
        """Start the run; return ("run" or "sweep", its id) once the process announced it."""
        argv = [sys.executable, "-m", "jupyter_mlops", "run", str(notebook)]
        for name, value in parameters.items():
            argv += ["-p", str(name), value if isinstance(value, str) else json.dumps(value)]
        proc = subprocess.Popen(argv, cwd=notebook.parent, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, JUPYTER_MLOPS_HOME=str(home)))
        first = proc.stderr.readline().strip()
        if not first.startswith(("run ", "sweep ")):
            rest = proc.stderr.read()
            proc.wait()
            raise ConfigError((first + "\n" + rest).strip().removeprefix("error: "))
        kind, run_id = first.split()[:2]
        state = {"proc": proc, "done": 0, "total": None, "cell": None}
        with self.lock:
            self.live[run_id] = state
        threading.Thread(target=self._follow, args=(run_id, state), daemon=True).start()
        return kind, run_id

    def _follow(self, run_id: str, state: dict) -> None:
        for line in state["proc"].stderr:
            match = re.match(r"\s*\[(\d+)/(\d+)\] (.*)", line)
            if match:
                with self.lock:
                    state.update(done=int(match[1]) - 1, total=int(match[2]), cell=match[3])
        state["proc"].wait()
        with self.lock:
            self.live.pop(run_id, None)

    def progress(self, run_id: str) -> Optional[dict]:
        """Cells done / total and the current cell of a live run."""
        with self.lock:
            state = self.live.get(run_id)
            return None if state is None else {k: state[k] for k in ("done", "total", "cell")}

    def cancel(self, run_id: str) -> bool:
        """SIGTERM a live run; False if it is not running here."""
        with self.lock:
            state = self.live.get(run_id)
        if state is None:
            return False
        state["proc"].send_signal(signal.SIGTERM)
        return True


class RunsHandler(MlopsHandler):
    """List runs; start a training job."""

    def store(self):
        """The run store of the server root's project."""
        from ..store import RunStore, find_home  # pylint: disable=import-outside-toplevel

        return RunStore(find_home(Path(self.settings["server_root_dir"]).expanduser()))

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        runs = await asyncio.to_thread(lambda: self.store().list())
        self.finish(json.dumps({"runs": [self._with_progress(r.to_dict()) for r in runs]},
                               default=str))

    def _with_progress(self, data: dict) -> dict:
        data.pop("environment", None)  # large; GET runs/{id} has it
        data["progress"] = self.settings["mlops_jobs"].progress(data["id"])
        data["executed_path"] = self._client_path((data.get("files") or {}).get("executed"))
        return data

    def _client_path(self, path: Optional[str]) -> Optional[str]:
        """A file of a run as the UI can open it (relative to the root), None if outside."""
        if not path:
            return None
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        resolved = Path(path).resolve()
        return self.relative(resolved) if root in resolved.parents else None

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.body(RunRequest)
        notebook = self.confined(request.path)
        home = self.store().home
        try:
            kind, run_id = await asyncio.to_thread(self.settings["mlops_jobs"].start, notebook,
                                                   request.parameters, home)
        except MlopsError as exc:
            return self.fail(exc)
        self.set_status(202)
        return self.finish(json.dumps({kind: run_id}))


class RunHandler(RunsHandler):
    """One run (with live progress while it runs); DELETE cancels it."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:  # pylint: disable=arguments-differ
        try:
            run = await asyncio.to_thread(lambda: self.store().get(run_id))
        except MlopsError as exc:
            raise tornado.web.HTTPError(404, str(exc)) from None
        data = run.to_dict()
        data["progress"] = self.settings["mlops_jobs"].progress(run.id)
        data["executed_path"] = self._client_path((data.get("files") or {}).get("executed"))
        return self.finish(json.dumps(data, default=str))

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        if not self.settings["mlops_jobs"].cancel(run_id):
            raise tornado.web.HTTPError(409, f"run {run_id} is not running on this server")
        self.set_status(202)
        self.finish(json.dumps({"run": run_id, "status": "cancelling"}))


ROUTES = [
    ("roles", RolesHandler),
    ("suggest", SuggestHandler),
    ("parameters", ParametersHandler),
    ("productionize", ProductionizeHandler),
    (r"tasks/(\w+)", TaskHandler),
    ("runs", RunsHandler),
    (r"runs/([\w-]+)", RunHandler),
]
