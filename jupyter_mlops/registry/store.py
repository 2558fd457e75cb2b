"""The model registry: versions with their lineage, and an append-only audit log of events.

It shares the run store's SQLite database (schema 2 on). A version's files live under
``.mlops/models/<name>/<version>/`` and are moved into place before the row that names them is
committed, in one ``BEGIN IMMEDIATE`` transaction that also allocates the version number: a
kill at any point leaves either no version or a whole one, and concurrent registrations get
distinct numbers. A version number is new to both the table and the folder: an existing
version folder is never replaced (not even one a killed registration left). Stages are not
stored as mutable state: they are read off the event log, so the log alone answers "which
version was in production at that time".
"""

from __future__ import annotations

import getpass
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..store import RunStore

STAGES = ("none", "staging", "production", "archived")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version."""

    name: str
    version: int
    run_id: str
    created: float
    path: Path
    record: dict
    stage: str = "none"

    @property
    def ref(self) -> str:
        """``NAME:VERSION``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict:
        """JSON form (``--json``)."""
        return {"name": self.name, "version": self.version, "run_id": self.run_id,
                "created": self.created, "path": str(self.path), "stage": self.stage,
                **self.record}


def check_name(name: str) -> str:
    """A model name safe as a folder name, or ConfigError."""
    if not NAME.match(name or ""):
        raise ConfigError(f"model name {name!r}: use letters, digits, '.', '_' or '-'")
    return name


def actor() -> str:
    """Who acts: ``$JUPYTER_MLOPS_ACTOR`` (CI sets it), else the login name."""
    try:
        return os.environ.get("JUPYTER_MLOPS_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Registry:
    """Versions and events of every model of one project."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.root = store.home / "models"

    def _version(self, row, stage: str) -> ModelVersion:
        return ModelVersion(row["name"], row["version"], row["run_id"], row["created"],
                            self.store.home / row["path"], json.loads(row["record"]), stage)

    def add(self, name: str, run_id: str, staged: Path, record: dict) -> ModelVersion:
        """Move the fully written folder ``staged`` in as the next version of ``name``."""
        check_name(name)
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                version = max(db.execute("SELECT COALESCE(MAX(version), 0) FROM "
                                         "model_versions WHERE name = ?",
                                         (name,)).fetchone()[0],
                              self._highest_folder(name)) + 1
                final = self.root / name / str(version)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.rename(staged, final)  # a new number: no folder is ever replaced
                now = time.time()
                db.execute("INSERT INTO model_versions (name, version, run_id, created, path, "
                           "record) VALUES (?, ?, ?, ?, ?, ?)",
                           (name, version, run_id, now,
                            final.relative_to(self.store.home).as_posix(),
                            json.dumps(record, default=str)))
                self._event(db, name, version, "registered", stage=None, reason=None,
                            details={"run_id": run_id,
                                     "notebook_sha256": record.get("notebook_sha256"),
                                     "metrics": record.get("metrics")})
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return self.get(name, version)

    def _highest_folder(self, name: str) -> int:
        """The highest version number that has a folder, committed or not: a folder left by
        a registration killed before its commit (or from a store that was lost) keeps its
        number, so it is never replaced."""
        try:
            numbers = [int(p.name) for p in (self.root / name).iterdir() if p.name.isdigit()]
        except OSError:
            return 0
        return max(numbers, default=0)

    @staticmethod
    def _event(db, model: str, version: Optional[int], action: str, *, stage: Optional[str],
               reason: Optional[str], details: dict) -> None:
        db.execute("INSERT INTO registry_events (at, model, version, action, stage, actor, "
                   "reason, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (time.time(), model, version, action, stage, actor(), reason,
                    json.dumps(details, default=str)))

    def record_event(self, model: str, version: Optional[int], action: str, *,
                     stage: Optional[str] = None, reason: Optional[str] = None,
                     details: Optional[dict] = None) -> None:
        """Append one event to the audit log."""
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            self._event(db, model, version, action, stage=stage, reason=reason,
                        details=details or {})
            db.execute("COMMIT")

    def set_stage(self, model: str, version: int, stage: str, *, reason: Optional[str],
                  details: dict) -> list[int]:
        """Move a version to ``stage``; the previous holder of production or staging is
        archived in the same transaction. Returns the versions that were archived."""
        if stage not in STAGES:
            raise ConfigError(f"unknown stage {stage!r}: choose from {', '.join(STAGES)}")
        archived = []
        with self.store.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if stage in ("staging", "production"):
                    for other, other_stage in self._stages(db, model, None).items():
                        if other_stage == stage and other != version:
                            self._event(db, model, other, "archived", stage="archived",
                                        reason=f"replaced by version {version}", details={})
                            archived.append(other)
                self._event(db, model, version, "promoted", stage=stage, reason=reason,
                            details=details)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return archived

    @staticmethod
    def _stages(db, model: str, until: Optional[float]) -> dict[int, str]:
        query = "SELECT version, stage FROM registry_events WHERE model = ? AND stage IS NOT NULL"
        args: tuple = (model,)
        if until is not None:
            query += " AND at <= ?"
            args += (until,)
        stages: dict[int, str] = {}
        for row in db.execute(query + " ORDER BY seq", args):
            stages[row["version"]] = row["stage"]
        return stages

    def get(self, name: str, version: Optional[int | str] = None) -> ModelVersion:
        """A version (``None``/``latest``: the newest; ``production``/``staging``: the one at
        that stage); ConfigError naming what exists when it does not."""
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none yet"
            raise ConfigError(f"no model named {name!r} (registered models: {known})")
        if version in (None, "latest"):
            return versions[-1]
        if version in ("production", "staging"):
            found = [v for v in versions if v.stage == version]
            if not found:
                raise ConfigError(f"model {name!r} has no version at stage {version!r}")
            return found[0]
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise ConfigError(f"version {version!r}: give a number, 'latest' or a stage") \
                from None
        for item in versions:
            if item.version == number:
                return item
        raise ConfigError(f"model {name!r} has no version {number} "
                          f"(versions 1 to {versions[-1].version})")

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first, with its current stage."""
        with self.store.connect() as db:
            stages = self._stages(db, name, None)
            rows = db.execute("SELECT * FROM model_versions WHERE name = ? ORDER BY version",
                              (name,)).fetchall()
        return [self._version(r, stages.get(r["version"], "none")) for r in rows]

    def names(self) -> list[str]:
        """Registered model names."""
        with self.store.connect() as db:
            return [r[0] for r in db.execute(
                "SELECT DISTINCT name FROM model_versions ORDER BY name")]

    def events(self, model: str) -> list[dict]:
        """The audit log of ``model``, oldest first."""
        with self.store.connect() as db:
            rows = db.execute("SELECT * FROM registry_events WHERE model = ? ORDER BY seq",
                              (model,)).fetchall()
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]

    def stages_at(self, model: str, when: float) -> dict[int, str]:
        """Each version's stage as it was at time ``when`` (seconds since the epoch)."""
        with self.store.connect() as db:
            return self._stages(db, model, when)

    def last_validation(self, model: str, version: int) -> Optional[dict]:
        """The newest ``validated`` event of a version, or None."""
        found = [e for e in self.events(model)
                 if e["action"] == "validated" and e["version"] == version]
        return found[-1] if found else None
