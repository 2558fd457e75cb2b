"""Routes of the Models panel and of "Open executed notebook", as thin as ``handlers.py``:
behind Jupyter's auth, bodies parsed by pydantic, one core call, JSON back, every file named
relative to the server root (None when it lies outside it).

- ``GET models``: every registered model, its versions (stage, lineage, metrics, the last
  validation, the ONNX parity) and its audit history;
- ``POST models/{name}/{version}/promote``: the registry's gate (a passed validation, or
  ``force`` with a ``reason``), answered with the version's new state;
- ``GET runs/{id}/executed``: the executed notebook of a run, as JSON. The run store lives
  in the hidden ``.mlops`` folder, which Jupyter's contents API refuses to open; the UI shows
  this notebook read-only through a drive of its own.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Optional

import tornado.web
from jupyter_server.auth.decorator import authorized

from ..errors import UnknownError
from ..registry.lifecycle import MODEL_DIR
from ..registry.parity import parity_view, read_parity
from .handlers import MlopsHandler
from .models import ModelList, ModelView, PromoteRequest, Promoted, VersionView


class RegistryHandler(MlopsHandler):
    """The registry of the server root's project, as the client sees it."""

    def registry(self):
        """The model registry sharing the run store's database."""
        from ..registry.store import Registry  # pylint: disable=import-outside-toplevel

        return Registry(self.store())

    def version_view(self, version, validation: Optional[dict]) -> VersionView:
        """One version with its lineage; its files relative to the root."""
        record = version.record
        git = record.get("git") or {}
        lineage = {
            "run": version.run_id,
            "notebook": self.client_path(record.get("notebook")),
            "notebook_sha256": record.get("notebook_sha256"),
            "inputs": [{"path": self.client_path(item.get("path")) or Path(
                item.get("path") or "").name, "sha256": item.get("sha256")}
                for item in record.get("inputs") or []],
            "commit": git.get("commit"),
            "dirty": git.get("dirty"),
            "python": (record.get("environment") or {}).get("python"),
        }
        return VersionView(
            parity=parity_view(read_parity(version.path / MODEL_DIR)),
            version=version.version, stage=version.stage, created=version.created,
            package=record.get("package"), parameters=record.get("parameters") or {},
            metrics=record.get("metrics") or {}, lint_score=record.get("lint_score"),
            tests=record.get("tests"), lineage=lineage,
            validation=None if validation is None else {**validation["details"],
                                                        "at": validation["at"],
                                                        "actor": validation["actor"]})

    def model_view(self, registry, name: str) -> ModelView:
        """A model's versions (newest first) and its audit history (newest first)."""
        events = registry.events(name)
        last: dict[int, dict] = {}
        for event in events:
            if event["action"] == "validated":
                last[event["version"]] = event
        versions = [self.version_view(v, last.get(v.version))
                    for v in reversed(registry.versions(name))]
        history = [{key: event[key] for key in ("seq", "at", "version", "action", "stage",
                                                 "actor", "reason")}
                   | {"passed": event["details"].get("passed")} for event in reversed(events)]
        return ModelView(name=name, versions=versions, history=history)


class ModelsHandler(RegistryHandler):
    """Every registered model with its versions and audit history."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        """The registry, newest versions first."""
        def listed() -> list[ModelView]:
            registry = self.registry()
            return [self.model_view(registry, name) for name in registry.names()]

        self.reply(ModelList(models=await asyncio.to_thread(listed)))


class PromoteHandler(RegistryHandler):
    """Move a version to a stage through the registry's gate (recorded in the audit log)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str, version: str) -> None:
        """The version's new state and the versions it archived; 409 if the gate refuses."""
        from ..registry.lifecycle import promote  # pylint: disable=import-outside-toplevel

        request = self.body(PromoteRequest)

        def promoted() -> Promoted:
            moved, archived = promote(self.store(), name, version, request.stage,
                                      force=request.force, reason=request.reason)
            return Promoted(model=self.model_view(self.registry(), moved.name),
                            version=moved.version, stage=moved.stage, archived=archived)

        self.reply(await asyncio.to_thread(promoted))


class ExecutedHandler(MlopsHandler):
    """The executed notebook of one run (read-only), though it lies in a hidden folder."""

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        """The notebook JSON with its name; 404 while the run has none."""
        def executed() -> dict[str, Any]:
            store = self.store()
            run = store.get(run_id)
            path = (run.record.get("files") or {}).get("executed")
            if not path or not Path(path).is_file():
                raise UnknownError(f"run {run_id} has no executed notebook (yet)")
            resolved = Path(path).resolve()
            if store.home.resolve() not in resolved.parents:
                raise tornado.web.HTTPError(403, "that notebook is outside the run store")
            return {"run": run.id, "name": Path(run.notebook).name,
                    "content": json.loads(resolved.read_text(encoding="utf-8"))}

        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(await asyncio.to_thread(executed)))


ROUTES = [
    ("models", ModelsHandler),
    (r"models/([\w.-]+)/(\w+)/promote", PromoteHandler),
    (r"runs/([\w-]+)/executed", ExecutedHandler),
]
