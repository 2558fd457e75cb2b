"""Run records in SQLite (WAL, versioned schema) with files under ``.mlops/runs/<id>/``.

The store lives in ``.mlops/`` of the project (found the way git finds ``.git``), or where
``JUPYTER_MLOPS_HOME`` points. Every write is one short transaction, so many concurrent jobs
can share one store.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import ConfigError

HOME_ENV = "JUPYTER_MLOPS_HOME"
DB_NAME = "mlops.db"

#: Schema migrations, in order; ``PRAGMA user_version`` is the number applied so far.
MIGRATIONS = (
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        sweep_id TEXT,
        status TEXT NOT NULL,
        notebook TEXT NOT NULL,
        notebook_sha256 TEXT,
        created REAL NOT NULL,
        started REAL,
        ended REAL,
        parameters TEXT NOT NULL DEFAULT '{}',
        record TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX runs_sweep ON runs (sweep_id);
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs (id),
        name TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT -1,
        value REAL,
        PRIMARY KEY (run_id, name, step)
    );
    CREATE TABLE sweeps (
        id TEXT PRIMARY KEY,
        notebook TEXT NOT NULL,
        created REAL NOT NULL,
        grid TEXT NOT NULL
    );
    """,
    # 2: the model registry. The audit log is append-only: triggers refuse UPDATE and DELETE.
    (
        """CREATE TABLE model_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            run_id TEXT NOT NULL,
            created REAL NOT NULL,
            path TEXT NOT NULL,
            record TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (name, version)
        )""",
        """CREATE TABLE registry_events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            model TEXT NOT NULL,
            version INTEGER,
            action TEXT NOT NULL,
            stage TEXT,
            actor TEXT NOT NULL,
            reason TEXT,
            details TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX registry_events_model ON registry_events (model, seq)",
        """CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
           BEGIN SELECT RAISE(ABORT, 'the registry audit log is append-only'); END""",
        """CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
           BEGIN SELECT RAISE(ABORT, 'the registry audit log is append-only'); END""",
    ),
)
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def _statements(migration) -> list[str]:
    """A migration's statements: a tuple as given, or a script split on ``;``."""
    if isinstance(migration, tuple):
        return list(migration)
    return [s for s in migration.split(";") if s.strip()]


def find_home(start: Optional[os.PathLike] = None) -> Path:
    """``$JUPYTER_MLOPS_HOME``, else the nearest ``.mlops`` above ``start``, else beside the
    nearest ``.git``, else ``start/.mlops``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / ".mlops").is_dir():
            return folder / ".mlops"
    for folder in (here, *here.parents):
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
            **self.record,
        }


class RunStore:
    """Runs, metrics and sweeps of one project."""

    def __init__(self, home: os.PathLike) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "runs").mkdir(exist_ok=True)
        self.path = self.home / DB_NAME
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode; callers ``BEGIN IMMEDIATE`` for their writes."""
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=60000")
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise ConfigError(
                f"the run store was written by a newer jupyter-mlops (schema {version}); upgrade"
            )
        for number in range(version, len(MIGRATIONS)):
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the lock.
                if db.execute("PRAGMA user_version").fetchone()[0] == number:
                    for statement in _statements(MIGRATIONS[number]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={number + 1}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

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
                   json.loads(row["record"]), row["sweep_id"], metrics)

    def get(self, run_id: str) -> Run:
        """One run by id (or unique id prefix); ConfigError if unknown."""
        with self.connect() as db:
            rows = db.execute("SELECT * FROM runs WHERE id LIKE ? ORDER BY id",
                              (run_id + "%",)).fetchall()
            if len(rows) != 1:
                known = "several runs match" if rows else "no such run"
                raise ConfigError(f"{known}: {run_id!r} (see `jupyter mlops runs list`)")
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
