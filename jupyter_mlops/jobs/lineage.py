"""Lineage of a run: git state, environment, cell hashes, and hashes of the data it read."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Optional

from ..notebook import Notebook
from ..tracking import INPUTS_FILE

MAX_DIFF_BYTES = 1_000_000


def sha256_file(path: Path) -> Optional[str]:
    """sha256 of a file's bytes, or None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _git(folder: Path, *args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(folder: Path) -> dict:
    """Commit, dirty flag and uncommitted diff of the repository holding ``folder``."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "diff": None}
    status = _git(folder, "status", "--porcelain") or ""
    diff = _git(folder, "diff", "HEAD") or ""
    return {"commit": commit.strip(), "dirty": bool(status.strip()),
            "diff": diff[:MAX_DIFF_BYTES], "untracked": [
                line[3:] for line in status.splitlines() if line.startswith("??")][:200]}


def environment() -> dict:
    """Python version and every installed distribution with its version."""
    packages = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name] = dist.version
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "platform": platform.platform(), "packages": dict(sorted(packages.items()))}


def cell_hashes(nb: Notebook) -> list[dict]:
    """sha256 of each code cell's source, with its number and id."""
    return [{"number": c.number, "id": c.cell_id,
             "sha256": hashlib.sha256(c.source.encode("utf-8")).hexdigest()}
            for c in nb.code_cells]


def recorded_inputs(run_dir: Path) -> list[dict]:
    """Data files the kernel opened (from the audit hook), with their sha256 now."""
    found = []
    log = run_dir / INPUTS_FILE
    if not log.exists():
        return found
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            path = json.loads(line)["path"]
        except (ValueError, KeyError):
            continue
        found.append({"path": path, "sha256": sha256_file(Path(path))})
    return found
