"""Run records in SQLite (WAL, versioned schema) with files under ``.mlops/runs/<id>/``.

The store lives in ``.mlops/`` of the project (found the way git finds ``.git``), or where
``JUPYTER_MLOPS_HOME`` points. Every write is one short transaction, so many concurrent jobs
can share one store.

A store file that is empty, truncated or not SQLite is never taken for a new store: opening it
raises :class:`StoreError` naming the file and how to recover. A new store is created whole
(written beside, then linked into place), so an empty ``mlops.db`` is always damage. Before
each schema migration the old file is copied to ``mlops.db.bak-schemaN``.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import ConfigError, StoreError, UnknownError
from .schema import MIGRATIONS, check_store_file, is_damage, statements, unreadable

HOME_ENV = "JUPYTER_MLOPS_HOME"
DB_NAME = "mlops.db"

#: Schema migrations, in order; ``PRAGMA user_version`` is the number applied so far.
class Status(str, Enum):
    """A run's status."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """True while the run has not ended."""
        return self in (Status.QUEUED, Status.RUNNING)


STATUSES = tuple(s.value for s in Status)
def find_home(start: Optional[os.PathLike] = None) -> Path:
    """``$JUPYTER_MLOPS_HOME``, else the nearest ``.mlops`` above ``start`` inside its git
    repository (beside the repository's ``.git`` when there is none yet), else
    ``start/.mlops``. A ``.mlops`` above the repository (in ``~`` or ``/tmp``) never
    captures a project's runs."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / ".mlops").is_dir():
            return folder / ".mlops"
        if (folder / ".git").exists():
            return folder / ".mlops"
    return here / ".mlops"


def new_id(prefix: str = "") -> str:
    """Sortable, readable ids: ``20261125-043012-a1b2c3``. Three random bytes keep many runs
    started in the same second apart; ``create_run`` still retries on a clash."""
    return prefix + time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class Run:
    """One run as stored."""

    id: str
    status: str
    notebook: str
    notebook_sha256: Optional[str]
    created: float
    started: Optional[float]
    ended: Optional[float]
    parameters: dict
    record: dict
    sweep_id: Optional[str] = None
    metrics: dict = field(default_factory=dict)
    owner: Optional[str] = None  # "PID:START" of the process running it (processes.py)
    progress: Optional[dict] = None  # {"done", "total", "cell_number", "cell_id"}

    @property
    def duration(self) -> Optional[float]:
        """Seconds from start to end, if both are known."""
        return None if self.started is None or self.ended is None else self.ended - self.started

    def to_dict(self) -> dict:
        """JSON form (``--json``, server API)."""
        return {
            "id": self.id, "status": self.status, "notebook": self.notebook,
            "notebook_sha256": self.notebook_sha256, "created": self.created,
            "started": self.started, "ended": self.ended, "duration": self.duration,
            "parameters": self.parameters, "metrics": self.metrics, "sweep_id": self.sweep_id,
            "progress": self.progress, **self.record,
        }


class RunStore:
    """Runs, metrics and sweeps of one project."""

    def __init__(self, home: os.PathLike) -> None:
        self.home = Path(home)
        self.path = self.home / DB_NAME
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            (self.home / "runs").mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the run store: {exc.strerror}",
                             path=str(self.home)) from None
        if not self.path.exists():
            self._create()
        check_store_file(self.path)
        with self.connect() as db:
            self._migrate(db)

    def _create(self) -> None:
        """Write a new store beside its final name, then link it into place: a store file
        is never seen half-created (so an empty one is always damage)."""
        fresh = self.home / f".{DB_NAME}.new-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            db = sqlite3.connect(fresh, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                self._migrate(db, backup=False)
            finally:
                db.close()
            try:
                os.link(fresh, self.path)
            except FileExistsError:
                pass  # another process created it first: use theirs
            except OSError:  # no hard links here: a rename is atomic too
                if not self.path.exists():
                    os.replace(fresh, self.path)
        finally:
            for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
                leftover.unlink(missing_ok=True)

    def unreadable(self, reason: str) -> StoreError:
        """The error for a damaged store file: what is wrong and how to recover."""
        return unreadable(self.path, reason)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; callers ``BEGIN IMMEDIATE`` for their writes.
        A damaged file raises :class:`StoreError` (named, with how to recover)."""
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise self.unreadable(str(exc)) from None
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA busy_timeout=60000")
            # WAL with NORMAL sync: a crash of the process loses nothing, a power cut at most
            # the last transactions; progress is written once per cell.
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise self.unreadable(str(exc)) from None
            raise
        finally:
            db.close()

    def _migrate(self, db: sqlite3.Connection, backup: bool = True) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise ConfigError(
                f"the run store was written by a newer jupyter-mlops (schema {version}); upgrade"
            )
        for number in range(version, len(MIGRATIONS)):
            if backup and number > 0:
                self._backup(db, number)
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the lock.
                if db.execute("PRAGMA user_version").fetchone()[0] == number:
                    for statement in statements(MIGRATIONS[number]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={number + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _backup(self, db: sqlite3.Connection, schema: int) -> None:
        """Copy the store (a consistent snapshot) to ``mlops.db.bak-schemaN`` before
        migrating it from schema N."""
        target = self.home / f"{DB_NAME}.bak-schema{schema}"
        if target.exists():
            return
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        copy = sqlite3.connect(partial)
        try:
            db.backup(copy)
        finally:
            copy.close()
        os.replace(partial, target)

    @property
    def schema_version(self) -> int:
        """The schema version this store is at."""
        with self.connect() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    def run_dir(self, run_id: str) -> Path:
        """The folder of one run's files."""
        return self.home / "runs" / run_id

    def create_run(self, notebook: str, sha256: Optional[str], parameters: dict,
                   sweep_id: Optional[str] = None) -> str:
        """Insert a queued run and make its folder; return its id."""
        while True:
            run_id = new_id()
            try:
                self.run_dir(run_id).mkdir(parents=True)
                break
            except FileExistsError:
                continue
        with self.connect() as db:
            db.execute(
                "INSERT INTO runs (id, sweep_id, status, notebook, notebook_sha256, created, "
                "parameters) VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (run_id, sweep_id, notebook, sha256, time.time(), json.dumps(parameters)),
            )
        return run_id

    def update(self, run_id: str, *, status: Optional[str] = None,
               started: Optional[float] = None, ended: Optional[float] = None,
               record: Optional[dict] = None) -> None:
        """Set the status, times, and merge ``record`` into the run's record."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT record FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                db.execute("ROLLBACK")
                raise ConfigError(f"no such run: {run_id!r}")
            merged = {**json.loads(row["record"]), **(record or {})}
            db.execute(
                "UPDATE runs SET status = COALESCE(?, status), started = COALESCE(?, started), "
                "ended = COALESCE(?, ended), record = ? WHERE id = ?",
                (status, started, ended, json.dumps(merged, default=str), run_id),
            )
            db.execute("COMMIT")

    def set_owner(self, run_ids: list[str], owner: Optional[str]) -> None:
        """Record the process (``processes.process_token``) that runs these runs."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("UPDATE runs SET owner = ? WHERE id = ?",
                           [(owner, run_id) for run_id in run_ids])
            db.execute("COMMIT")

    def claim(self, run_id: str, owner: Optional[str]) -> bool:
        """Move a queued run to running for ``owner``; False if it is no longer queued (it
        was cancelled before it started)."""
        with self.connect() as db:
            changed = db.execute("UPDATE runs SET status = 'running', owner = ? "
                                 "WHERE id = ? AND status = 'queued'", (owner, run_id))
            return changed.rowcount == 1

    def end_if_active(self, run_id: str, status: Status, record: dict) -> bool:
        """End a run that has not ended yet (cancelled before it started, or lost with its
        process); False when the run had recorded its own ending first."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT status, record FROM runs WHERE id = ?",
                             (run_id,)).fetchone()
            if row is None or not Status(row["status"]).active:
                db.execute("ROLLBACK")
                return False
            merged = {**json.loads(row["record"]), **record}
            db.execute("UPDATE runs SET status = ?, ended = ?, record = ? WHERE id = ?",
                       (Status(status).value, time.time(), json.dumps(merged, default=str),
                        run_id))
            db.execute("COMMIT")
            return True

    def set_progress(self, run_id: str, progress: dict) -> None:
        """Where a running job is (one short write per cell)."""
        with self.connect() as db:
            db.execute("UPDATE runs SET progress = ? WHERE id = ?",
                       (json.dumps(progress), run_id))

    def add_metrics(self, run_id: str, metrics: list[dict]) -> None:
        """Store metrics (name, value, step); the last value of a name and step wins."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)",
                [(run_id, m["name"], -1 if m.get("step") is None else int(m["step"]),
                  m["value"]) for m in metrics],
            )
            db.execute("COMMIT")

    def create_sweep(self, notebook: str, grid: dict) -> str:
        """Record a sweep (its grid of parameter values); return its id."""
        sweep_id = new_id("sweep-")
        with self.connect() as db:
            db.execute("INSERT INTO sweeps (id, notebook, created, grid) VALUES (?, ?, ?, ?)",
                       (sweep_id, notebook, time.time(), json.dumps(grid)))
        return sweep_id

    def sweep(self, sweep_id: str) -> Optional[dict]:
        """A sweep with its grid, or None."""
        with self.connect() as db:
            row = db.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        return None if row is None else {**dict(row), "grid": json.loads(row["grid"])}

    def _run(self, db: sqlite3.Connection, row: sqlite3.Row) -> Run:
        metrics: dict[str, Any] = {}
        for m in db.execute("SELECT name, step, value FROM metrics WHERE run_id = ? "
                            "ORDER BY name, step", (row["id"],)):
            metrics[m["name"]] = m["value"]  # the last step is the run's value
        return Run(row["id"], row["status"], row["notebook"], row["notebook_sha256"],
                   row["created"], row["started"], row["ended"], json.loads(row["parameters"]),
                   json.loads(row["record"]), row["sweep_id"], metrics, row["owner"],
                   json.loads(row["progress"]) if row["progress"] else None)

    def get(self, run_id: str) -> Run:
        """One run by id (or unique id prefix); ConfigError if unknown."""
        with self.connect() as db:
            prefix = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = db.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY id",
                              (prefix + "%",)).fetchall()
            if len(rows) != 1:
                kind = ConfigError if rows else UnknownError
                known = "several runs match" if rows else "no such run"
                raise kind(f"{known}: {run_id!r} (see `jupyter mlops runs list`)")
            return self._run(db, rows[0])

    def list(self, sweep_id: Optional[str] = None, limit: int = 50) -> list[Run]:
        """Newest runs first (all runs of a sweep when ``sweep_id`` is given)."""
        with self.connect() as db:
            if sweep_id:
                rows = db.execute("SELECT * FROM runs WHERE sweep_id = ? ORDER BY id",
                                  (sweep_id,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM runs ORDER BY created DESC, id DESC LIMIT ?",
                                  (limit,)).fetchall()
            return [self._run(db, row) for row in rows]
