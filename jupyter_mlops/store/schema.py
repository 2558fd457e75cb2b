"""The run store's file: its schema migrations, and the checks that tell damage from a new
store (an empty or truncated ``mlops.db`` is damage, never a fresh start)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StoreError

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
    # 3: the process that runs a job (pid and start time, so a restarted server can still
    # cancel it) and its progress (cells done / total, the current cell).
    (
        "ALTER TABLE runs ADD COLUMN owner TEXT",
        "ALTER TABLE runs ADD COLUMN progress TEXT",
    ),
)


SQLITE_MAGIC = b"SQLite format 3\x00"


def statements(migration) -> list[str]:
    """A migration's statements: a tuple as given, or a script split on ``;``."""
    if isinstance(migration, tuple):
        return list(migration)
    return [s for s in migration.split(";") if s.strip()]


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is damaged (not merely busy or misused)."""
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return True
    text = str(exc)
    return "malformed" in text or "not a database" in text


def check_store_file(path: Path) -> None:
    """StoreError unless ``path`` looks like a whole SQLite file (checked from its 100-byte
    header before SQLite opens it: SQLite takes an empty file for a new database)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as stream:
            header = stream.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read the run store: {exc.strerror}", path=str(path)) from None
    if size == 0:
        raise unreadable(path, "the file is empty: 0 bytes")
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise unreadable(path, "the file is not an SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and size < page_size * pages:
        raise unreadable(path, f"the file is truncated: {size} of {page_size * pages} bytes")


def unreadable(path: Path, reason: str) -> StoreError:
    """The error for a damaged store file: what is wrong and how to recover."""
    backups = sorted(path.parent.glob(f"{path.name}.bak-schema*"))
    restore = (f"restore the copy kept before the last schema migration "
               f"(`cp {backups[-1]} {path}`), or " if backups else
               "restore it from a backup, or ")
    return StoreError(f"the run store is unreadable ({reason}); nothing was changed. To "
                      f"recover, {restore}move it away (`mv {path} {path}.broken`) to start "
                      "a new, empty store", path=str(path))
