"""The one exception hierarchy of jupyter-mlops.

Every error a user can cause is an :class:`MlopsError` with a sentence a data scientist
understands. Adapters map the classes to exit codes (``cli.py``) and HTTP statuses
(``server/handlers.py``) in one place each; nothing else catches them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

#: Terminal colour and cursor codes (IPython colours its tracebacks): never shown to a user.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")

#: What a front end can offer for an error that one of these actions fixes, and how the
#: command line says it. The UI shows a button instead of the flag.
FIXES = {
    "no-execute": "use --no-execute to productionize without the recording run",
    "force": "pass --force to overwrite them",
}


def plain(text: str) -> str:
    """``text`` without ANSI escape codes (``\x1b[31mKeyError\x1b[39m`` -> ``KeyError``)."""
    return ANSI.sub("", text)


@dataclass(frozen=True)
class CellRef:
    """A cell as the user sees it: 1-based number (JupyterLab's count) and its id."""

    number: int
    cell_id: str

    def __str__(self) -> str:
        return f"cell {self.number} (id {self.cell_id})"


@dataclass(frozen=True)
class CellWarning:
    """Something productionize did or could not do, tied to the cell (and line) it is about,
    so every front end can link it there."""

    message: str
    cell: Optional[CellRef] = None
    line: Optional[int] = None

    def __str__(self) -> str:
        if self.cell is None:
            return self.message
        where = f"{self.cell} line {self.line}" if self.line is not None else str(self.cell)
        return f"{where}: {self.message}"

    def to_dict(self) -> dict:
        """JSON form: the text as printed, plus the cell to link to."""
        cell = None if self.cell is None else {"number": self.cell.number, "id": self.cell.cell_id}
        return {"text": str(self), "message": self.message, "cell": cell, "line": self.line}


class MlopsError(Exception):
    """Base of every error jupyter-mlops raises on purpose."""

    #: Exit code for the CLI: 2 means bad usage or bad input, 1 a failed check.
    exit_code = 2

    def __init__(self, message: str, *, path: Optional[str] = None,
                 fix: Optional[str] = None) -> None:
        message = plain(message)
        super().__init__(message)
        self.message = message
        self.path = path
        self.fix = fix

    @property
    def hint(self) -> Optional[str]:
        """How the command line fixes this error (``FIXES``), or None."""
        return FIXES.get(self.fix or "")

    def __str__(self) -> str:
        prefix = f"{self.path}: " if self.path else ""
        return f"{prefix}{self.message}"

    def to_dict(self) -> dict:
        """JSON form for ``--json`` output and HTTP error bodies."""
        return {"error": type(self).__name__, "message": str(self), "path": self.path,
                "fix": self.fix}


class NotebookError(MlopsError):
    """The notebook itself is wrong: unreadable, invalid, or a cell cannot be exported."""

    def __init__(
        self,
        message: str,
        *,
        path: Optional[str] = None,
        cell: Optional[CellRef] = None,
        other_cell: Optional[CellRef] = None,
        line: Optional[int] = None,
        fix: Optional[str] = None,
    ) -> None:
        super().__init__(message, path=path, fix=fix)
        self.cell = cell
        self.other_cell = other_cell
        self.line = line

    def __str__(self) -> str:
        where = self.path or ""
        if self.cell is not None:
            where = f"{where} {self.cell}".strip()
            if self.line is not None:
                where += f" line {self.line}"
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        data = super().to_dict()
        for key, ref in (("cell", self.cell), ("other_cell", self.other_cell)):
            data[key] = None if ref is None else {"number": ref.number, "id": ref.cell_id}
        data["line"] = self.line
        return data


class NotebookNotFound(NotebookError):
    """The notebook file does not exist."""


class RoleError(NotebookError):
    """A cell's role tags are wrong (unknown ``mlops:*`` tag, two roles on one cell)."""


class DataflowError(NotebookError):
    """The cells' variables do not connect the way the package needs."""


class ConfigError(MlopsError):
    """A command-line option or ``[tool.jupyter-mlops]`` setting is invalid."""


class MissingDependency(ConfigError):
    """An optional feature's package is not installed; the message names the extra."""


class UnknownError(ConfigError):
    """A run, sweep or task the user named does not exist."""


class OutputError(MlopsError):
    """The output directory cannot be written safely (hand edits, not ours, not a folder,
    not writable, ...): bad input, exit 2."""


class StaleOutputError(OutputError):
    """The generated package no longer matches the notebook: the check failed, exit 1."""

    exit_code = 1


class StoreError(MlopsError):
    """The run store (``.mlops/mlops.db``) is unreadable: empty, truncated or not SQLite.
    Never replaced silently; the message says how to recover."""


class StateError(MlopsError):
    """The thing asked for is not in a state that allows it (cancel a finished run, ...)."""

    exit_code = 1


class ExecutionError(MlopsError):
    """Running the notebook (recording or job) failed."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: Optional[str] = None,
        cell: Optional[CellRef] = None,
    ) -> None:
        super().__init__(message, path=path)
        self.cell = cell

    def __str__(self) -> str:
        where = self.path or ""
        if self.cell is not None:
            where = f"{where} {self.cell}".strip()
        return f"{where}: {self.message}" if where else self.message


class CheckFailed(MlopsError):
    """A quality check the user asked for did not pass (lint threshold, generated tests)."""

    exit_code = 1


class ConversionError(MlopsError):
    """A model (or one of its steps, ``step``) cannot be converted to another runtime: bad
    input, exit 2."""

    def __init__(self, message: str, *, step: Optional[str] = None,
                 path: Optional[str] = None) -> None:
        super().__init__(message, path=path)
        self.step = step

    def to_dict(self) -> dict:
        return {**super().to_dict(), "step": self.step}


class RecordingError(NotebookError):
    """The notebook failed while productionize executed it to record a sample."""


def os_error(exc: OSError, what: str = "") -> MlopsError:
    """An ``OSError`` on a file the user named, as one sentence (no traceback, exit 2):
    ``x.ipynb/y.ipynb: Not a directory``. ``what`` says what the file was for."""
    reason = exc.strerror or type(exc).__name__
    if what:
        reason = f"{what}: {reason}"
    name = exc.filename if exc.filename is not None else None
    return MlopsError(reason, path=None if name is None else os.fsdecode(name))
