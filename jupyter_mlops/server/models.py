"""Request and response bodies of ``/mlops/api/`` (pydantic), named by verb.

Requests are validated here, in the server process, before any work starts: a path is a
relative path without NUL bytes, no part of it over 255 bytes (what file systems allow), and
parameter names are Python identifiers (papermill injects them as assignments).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: Longest file name most file systems take (bytes), and the longest path we accept.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def checked_path(value: str) -> str:
    """A client path fit to join onto the server root (ValueError says why not)."""
    if not value:
        raise ValueError("a path relative to the server root is required")
    if "\0" in value:
        raise ValueError("a path cannot contain a NUL character")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise ValueError(f"the path is longer than {MAX_PATH_BYTES} bytes")
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
           for part in value.replace("\\", "/").split("/")):
        raise ValueError(f"a name in the path is longer than {MAX_NAME_BYTES} bytes")
    return value


def _no_nul(value: Any) -> Any:
    """Parameter values may be any JSON, but no string in them may hold a NUL."""
    if isinstance(value, str) and "\0" in value:
        raise ValueError("a parameter value cannot contain a NUL character")
    if isinstance(value, dict):
        for item in value.items():
            _no_nul(item)
    if isinstance(value, (list, tuple)):
        for item in value:
            _no_nul(item)
    return value


def _identifiers(values: dict[str, Any]) -> dict[str, Any]:
    bad = [name for name in values if not name.isidentifier()]
    if bad:
        raise ValueError(f"parameter name {bad[0][:60]!r} is not a Python identifier")
    return _no_nul(values)


ClientPath = Annotated[str, AfterValidator(checked_path)]
Parameters = Annotated[dict[str, Any], AfterValidator(_identifiers)]


class Request(BaseModel):
    """Strict: unknown fields are a 400, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class SetRoleRequest(Request):
    """``PUT roles``: one cell's new role (``null`` clears it)."""

    path: ClientPath
    cell: Annotated[str, Field(min_length=1, max_length=200)]
    role: Optional[Annotated[str, Field(max_length=100)]] = None


class ProductionizeRequest(Request):
    """``POST productionize``: ``out`` defaults to ``build/<notebook>`` beside it."""

    path: ClientPath
    out: Optional[ClientPath] = None
    force: bool = False
    execute: bool = True


class StartRunRequest(Request):
    """``POST runs``: a notebook and its parameter values (a comma list is a sweep)."""

    path: ClientPath
    parameters: Parameters = {}


class TaskStatus(str, Enum):
    """A productionize task's state."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Task(BaseModel):
    """``GET tasks/{id}``: progress messages, then the result or the error."""

    id: str
    kind: str
    status: TaskStatus
    progress: list[str] = []
    result: Optional[dict[str, Any]] = None
    error: Optional[dict[str, Any]] = None


class TaskStarted(BaseModel):
    """``POST productionize`` answers 202 with the task to poll."""

    task: str


class Progress(BaseModel):
    """Where a running job is: cells done / total and the current cell."""

    done: int
    total: Optional[int] = None
    cell: Optional[str] = None


class RunView(BaseModel):
    """One run as the client sees it (paths relative to the server root); the record's
    other fields (inputs, git, error, ...) come along as they are."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str
    notebook: str
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    sweep_id: Optional[str] = None
    progress: Optional[Progress] = None
    executed_path: Optional[str] = None


class RunList(BaseModel):
    """``GET runs``."""

    runs: list[RunView]


class RunStarted(BaseModel):
    """``POST runs`` answers 202 with ``run`` or ``sweep`` and the ids of its runs."""

    run: Optional[str] = None
    sweep: Optional[str] = None
    runs: list[str]
    warnings: list[str] = []


class Cancelling(BaseModel):
    """``DELETE runs/{id}`` answers 202: the runs asked to stop."""

    run: str
    status: str = "cancelling"
    cancelled: list[str]


class PromoteRequest(Request):
    """``POST models/{name}/{version}/promote``: the stage, and ``force`` only with a reason
    (the audit log records both)."""

    stage: Literal["none", "staging", "production", "archived"]
    force: bool = False
    reason: Optional[Annotated[str, Field(max_length=500)]] = None


class VersionView(BaseModel):
    """One registered version: stage, lineage, metrics, its last validation and its ONNX
    parity."""

    version: int
    stage: str
    created: float
    package: Optional[str] = None
    parameters: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    lint_score: Optional[float] = None
    tests: Optional[dict[str, Any]] = None
    lineage: dict[str, Any]
    validation: Optional[dict[str, Any]] = None
    #: the ONNX parity report of the version's model.onnx (``convert``), None if never converted
    parity: Optional[dict[str, Any]] = None


class ModelView(BaseModel):
    """A registered model: its versions and audit history, newest first."""

    name: str
    versions: list[VersionView]
    history: list[dict[str, Any]]


class ModelList(BaseModel):
    """``GET models``."""

    models: list[ModelView]


class Promoted(BaseModel):
    """``POST .../promote``: the version's new stage, what it archived, the model now."""

    version: int
    stage: str
    archived: list[int]
    model: ModelView
