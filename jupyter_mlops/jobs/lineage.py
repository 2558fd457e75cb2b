"""Lineage of a run: git state, environment, cell hashes, and hashes of the data it read."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import stat
import subprocess
import sys
import tokenize
import warnings
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Optional

from ..notebook import Notebook
from ..tracking import CODE_SUFFIXES, INPUTS_FILE

#: The uncommitted diff is kept up to this many characters (it goes into every run record
#: and GET runs/{id}); the rest is cut with a note saying how much.
MAX_DIFF_CHARS = 100_000
#: Diff lines that look like credentials: replaced whole, never stored.
SECRETS = tuple(re.compile(pattern) for pattern in (
    r"-----BEGIN [A-Z ]*PRIVATE KEY",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access key id
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"\bsk-[A-Za-z0-9_-]{20,}",  # OpenAI-style API keys
    r"\bAIza[0-9A-Za-z_-]{30,}",  # Google API keys
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}",
    r"://[^/\s:@]+:[^/\s@]+@",  # user:password@ in a URL
    r"(?i)(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|auth)[\w-]*[\"']?\s*[:=]+\s*(?:[\"'][^\"'\s]{4,}"
    r"|[A-Za-z0-9+/_.-]{8,}(?![\w(\[.]))",
))
REDACTED = "[redacted by jupyter-mlops: this line looks like a credential]"
MAX_NAME_CHARS = 4096  # longer strings in the code are not file names

#: A regular file's identity and state: inode, size, mtime in ns (a write changes one of them).
FileStamp = tuple[int, int, int]


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
    diff, redacted = redact_secrets(_git(folder, "diff", "HEAD") or "")
    if len(diff) > MAX_DIFF_CHARS:
        diff = (diff[:MAX_DIFF_CHARS] + f"\n[diff cut by jupyter-mlops: {MAX_DIFF_CHARS} of "
                f"{len(diff)} characters kept]\n")
    return {"commit": commit.strip(), "dirty": bool(status.strip()), "diff": diff,
            "diff_redacted_lines": redacted, "untracked": [
                line[3:] for line in status.splitlines() if line.startswith("??")][:200]}


def redact_secrets(diff: str) -> tuple[str, int]:
    """``diff`` with every line that looks like a credential (a private key, an AWS, GitHub,
    Slack or API key, a bearer token, ``user:password@`` in a URL, ``password = "..."``)
    replaced whole, keeping its ``+``/``-`` marker; and how many lines were replaced."""
    lines, count = [], 0
    for line in diff.splitlines(keepends=True):
        if any(pattern.search(line) for pattern in SECRETS):
            marker = line[0] if line[:1] in "+- " and not line.startswith(("+++", "---")) \
                else ""
            lines.append(f"{marker}{REDACTED}\n")
            count += 1
        else:
            lines.append(line)
    return "".join(lines), count


def environment() -> dict:
    """Python version and every installed distribution with its version."""
    packages = {}
    for dist in importlib.metadata.distributions():
        # .get: a folder without metadata (an install under way, a broken one) has no name,
        # and importlib_metadata's messages raise KeyError for it where the stdlib's give None
        name = dist.metadata.get("Name")
        if name:
            packages[name] = dist.version
    return {"python": platform.python_version(), "implementation": sys.implementation.name,
            "platform": platform.platform(), "packages": dict(sorted(packages.items()))}


def installed_key() -> list:
    """What the installed-package listing depends on: the interpreter and the folders
    distributions are installed into, with their mtimes (installing or removing one changes
    its folder's mtime, through its ``.dist-info`` entry). The project's own folders on
    ``sys.path`` are left out: writing a file there changes nothing installed."""
    folders = []
    for entry in dict.fromkeys(sys.path):
        if "site-packages" not in entry and "dist-packages" not in entry:
            continue
        try:
            folders.append([entry, os.stat(entry).st_mtime_ns])
        except OSError:
            continue
    return [sys.executable, platform.python_version(), folders]


def cached_environment(home: Path) -> dict:
    """:func:`environment`, read from ``home/cache`` when nothing was installed or removed
    since it was written (listing every distribution takes a moment on each run)."""
    cache = Path(home) / "cache" / "environment.json"
    key = installed_key()
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if kept.get("key") == key:
            return kept["environment"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # no cache yet, or a damaged one: list again
    found = environment()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"key": key, "environment": found}), encoding="utf-8")
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only store still records the run
    return found


def cell_hashes(nb: Notebook) -> list[dict]:
    """sha256 of each code cell's source, with its number and id."""
    return [{"number": c.number, "id": c.cell_id,
             "sha256": hashlib.sha256(c.source.encode("utf-8")).hexdigest()}
            for c in nb.code_cells]


def _audited(run_dir: Path) -> list[str]:
    """Data files the kernel opened from Python (the audit hook's log), resolved."""
    log = run_dir / INPUTS_FILE
    if not log.exists():
        return []
    paths = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            paths.append(json.loads(line)["path"])
        except (ValueError, KeyError):
            continue
    return paths


def _value_strings(value: Any) -> Iterator[str]:
    """Every string in a parameter value, inside lists and mappings too."""
    if isinstance(value, (str, bytes)):
        yield os.fsdecode(value)
    elif isinstance(value, dict):
        for item in value.items():
            yield from _value_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _value_strings(item)


def _token_strings(source: str) -> Iterator[str]:
    """String literals of code ``ast`` cannot parse (IPython magics, shell lines)."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                try:
                    yield from _value_strings(ast.literal_eval(token.string))
                except (ValueError, SyntaxError):  # an f-string
                    continue
    except (tokenize.TokenError, SyntaxError):
        pass  # the strings before the token it stumbled on are kept


def _assigns_only(statement: ast.stmt, names: Collection[str]) -> bool:
    targets = (statement.targets if isinstance(statement, ast.Assign)
               else [statement.target] if isinstance(statement, ast.AnnAssign) else [])
    return bool(targets) and all(isinstance(t, ast.Name) and t.id in names for t in targets)


def _code_strings(source: str, overridden: Collection[str] = ()) -> list[str]:
    """String constants of a cell, less the defaults of ``overridden`` names (the parameters
    cell's value for a name the job injects is never the one the notebook uses)."""
    with warnings.catch_warnings():
        # "invalid escape sequence" and the like are for the kernel to report, not for us
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return list(_token_strings(source))
    statements = [s for s in tree.body if not _assigns_only(s, overridden)]
    return [os.fsdecode(node.value) for statement in statements for node in ast.walk(statement)
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))]


def file_stamp(path: str) -> Optional[FileStamp]:
    """Inode, size and mtime of a regular file, or None (missing, a folder, unreadable)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def named_files(nb: Notebook, nb_path: Path, values: dict,
                excluded: tuple[str, ...]) -> dict[str, FileStamp]:
    """Existing files the run names (strings in its code and parameter values), resolved
    against the notebook's folder, with their stamps; taken before any cell runs.

    The audit hook only sees files opened from Python; C and C++ readers (pyarrow's parquet,
    HDF5, numpy's memmap, ...) open theirs unseen, but a notebook names what it reads.
    """
    folder, notebook = str(nb_path.parent), os.path.realpath(nb_path)
    names = [*_value_strings(values)]
    for cell in nb.code_cells:
        names += _code_strings(cell.source, values if cell.role == "parameters" else ())
    found: dict[str, FileStamp] = {}
    for name in dict.fromkeys(names):
        if not name or len(name) > MAX_NAME_CHARS or "\n" in name or "\0" in name:
            continue
        path = os.path.join(folder, os.path.expanduser(name))
        if file_stamp(path) is None:  # most strings are not files: one stat rules them out
            continue
        full = os.path.realpath(path)
        stamp = file_stamp(full)
        if (stamp is None or full == notebook or full.endswith(CODE_SUFFIXES)
                or full.startswith(excluded)):
            continue
        found[full] = stamp
    return found


def recorded_inputs(run_dir: Path, named: Optional[dict[str, FileStamp]] = None) -> list[dict]:
    """Data files the run read, with their sha256 now: those the kernel opened from Python
    (the audit hook), then those it named (:func:`named_files`) and did not write itself."""
    paths = dict.fromkeys(_audited(run_dir))
    for path, stamp in (named or {}).items():
        if path not in paths and file_stamp(path) == stamp:
            paths[path] = None
    return [{"path": path, "sha256": sha256_file(Path(path))} for path in paths]
