"""Process lifetimes: children that die with their parent, and scratch folders that say who
owns them, so that a kill -9 leaves nothing running and nothing that is not cleaned up later.

- :func:`bound_to_parent` wraps a child's command line so that the child gets SIGKILL when
  its parent dies (Linux ``PR_SET_PDEATHSIG``, set by a tiny exec wrapper: ``preexec_fn`` is
  unsafe in threaded programs such as the server), and runs in its own process group.
- :func:`owned_dir` makes a scratch folder whose name carries the owner's pid and start time;
  :func:`sweep_abandoned` removes those whose owner is gone (the next start cleans up).
- :func:`process_token` / :func:`is_alive` identify a process across a pid's reuse (the run
  store keeps a job's token so a restarted server can still cancel it).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import sys
from pathlib import Path
from typing import Optional, Sequence

#: Runs in the child before it becomes the real command: die with the parent (Linux).
_GUARD = (
    "import os, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    import ctypes, signal\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG\n"
    "    if os.getppid() != int(sys.argv[1]):  # the parent died before prctl took effect\n"
    "        os._exit(137)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def bound_to_parent(argv: Sequence[str]) -> list[str]:
    """``argv`` run so that it is killed when this process dies (even by SIGKILL).

    Use with ``start_new_session=False`` (the default) from a thread that outlives the
    child: Linux sends the signal when the thread that forked the child exits.
    """
    return [sys.executable, "-I", "-S", "-c", _GUARD, str(os.getpid()), *map(str, argv)]


def process_token(pid: Optional[int] = None) -> Optional[str]:
    """``"PID:START@HOST"`` for a live process (start time from psutil), None if it is gone.
    The start time tells a process from a later one that got the same pid."""
    import psutil  # pylint: disable=import-outside-toplevel  # an ipykernel dependency

    try:
        proc = psutil.Process(os.getpid() if pid is None else pid)
        return f"{proc.pid}:{proc.create_time():.2f}@{socket.gethostname()}"
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_local(token: Optional[str]) -> bool:
    """Whether the process a token names runs on this machine."""
    return str(token).rpartition("@")[2] == socket.gethostname()


def is_alive(token: Optional[str]) -> bool:
    """Whether the process a :func:`process_token` names still runs (not a zombie). A
    process on another machine cannot be checked from here: it counts as alive."""
    import psutil  # pylint: disable=import-outside-toplevel

    if token and not is_local(token):
        return True
    pid = token_pid(token)
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return process_token(pid) == token and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def token_pid(token: Optional[str]) -> Optional[int]:
    """The pid part of a token, or None."""
    try:
        return int(str(token).split(":", 1)[0])
    except ValueError:
        return None


def owned_dir(parent: Path, prefix: str) -> Path:
    """A new empty folder ``parent/PREFIX<pid>_<start>-<random>`` owned by this process."""
    parent.mkdir(parents=True, exist_ok=True)
    token = (process_token() or str(os.getpid())).partition("@")[0].replace(":", "_")
    while True:
        path = parent / f"{prefix}{token}-{secrets.token_hex(4)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


_OWNER = re.compile(r"(\d+)_(\d+(?:\.\d+)?)-[0-9a-f]+$")


def owner_of(name: str, prefix: str) -> Optional[str]:
    """The owner token encoded in a folder name made by :func:`owned_dir`."""
    match = _OWNER.match(name[len(prefix):]) if name.startswith(prefix) else None
    return f"{match[1]}:{match[2]}@{socket.gethostname()}" if match else None


def sweep_abandoned(parent: Path, prefix: str) -> list[Path]:
    """Remove ``parent/PREFIX*`` folders whose owner process is gone; return them."""
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        owner = owner_of(entry.name, prefix)
        if owner is None or is_alive(owner) or not entry.is_dir():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
