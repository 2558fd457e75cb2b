"""pylint's answers kept by what they depend on, so the same package is not linted twice.

Productionize lints the generated package on every full run, and most full runs lint code
that was linted before: an edit to an exploration cell, a markdown cell or an output changes
the notebook but not one generated line; ``--force``; ``register`` after ``productionize`` in
CI. pylint's findings depend only on the files it reads and the code that reads them, so the
key is: the files linted, every ``.py`` file of the package (they may import any) and the
``.pylintrc`` (paths and bytes), pylint's and astroid's versions, the interpreter,
``PYTHONPATH``, and the folders distributions are installed into with their mtimes
(installing, upgrading or removing a library changes them).
Only what a report is made of is kept (relative paths, lines, ids, messages, the score).

The cache is per user (``$JUPYTER_MLOPS_CACHE``, else ``$XDG_CACHE_HOME/jupyter-mlops``,
else ``~/.cache/jupyter-mlops``); a damaged or unwritable cache is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from pathlib import Path
from typing import Optional

from ..jobs.lineage import installed_key

CACHE_ENV = "JUPYTER_MLOPS_CACHE"
#: Answers kept; the least recently used go first beyond this.
KEEP = 256
#: The parts of a pylint ``json2`` message a report is made of.
MESSAGE_KEYS = ("path", "line", "messageId", "symbol", "message")


def cache_dir() -> Path:
    """Where this user's cached answers live."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / "pylint"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jupyter-mlops" / "pylint"


def _versions() -> list:
    found = []
    for name in ("pylint", "astroid"):
        try:
            found.append([name, importlib.metadata.version(name)])
        except importlib.metadata.PackageNotFoundError:
            found.append([name, None])
    return found


def lint_key(root: Path, package: str, targets: tuple[str, ...]) -> Optional[str]:
    """The key of pylint's answer on ``targets`` (in ``root/package``) with ``root/.pylintrc``
    as they are now, or None when they cannot be read (then pylint's own error is the
    answer)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([_versions(), installed_key(), os.environ.get("PYTHONPATH", ""),
                              sorted(targets)]).encode())
    try:
        digest.update((root / ".pylintrc").read_bytes())
        for path in sorted((root / package).rglob("*.py")):
            digest.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def cached_answer(key: Optional[str]) -> Optional[dict]:
    """pylint's kept answer (``messages`` and ``statistics.score``) for ``key``, if any."""
    if key is None:
        return None
    path = cache_dir() / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)  # recently used: kept longest
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return None
    return data


def keep_answer(key: Optional[str], data: dict) -> None:
    """Keep what a report is made of from pylint's ``json2`` answer ``data``."""
    if key is None:
        return
    kept = {"messages": [{k: m.get(k) for k in MESSAGE_KEYS} for m in data.get("messages", [])],
            "statistics": {"score": data.get("statistics", {}).get("score", 0.0)}}
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(kept), encoding="utf-8")
        os.replace(partial, folder / f"{key}.json")
        _prune(folder)
    except OSError:
        pass  # a read-only home lints every time, as before


def _prune(folder: Path) -> None:
    entries = []
    for path in folder.glob("*.json"):
        try:
            entries.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue
    for _, path in sorted(entries)[:-KEEP]:
        path.unlink(missing_ok=True)
