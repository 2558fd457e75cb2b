"""The embedded run store: SQLite plus a folder per run under ``.mlops/``."""

from .db import Run, RunStore, find_home

__all__ = ["Run", "RunStore", "find_home"]
