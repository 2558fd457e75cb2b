"""In-notebook recording: ``log_metric`` / ``log_artifact`` and the data-file audit hook.

When the notebook runs as a job, its kernel calls :func:`bind_run` (at launch, or when a
pre-started kernel is handed to the run), which sets ``JUPYTER_MLOPS_RUN_DIR`` and starts the
audit hook; these functions then append to files in that directory, which
the job reads back into the run store. Run by hand, they only print, so the same notebook works
both ways. Nothing here imports more than the standard library: it loads inside every kernel.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Optional, Union

RUN_DIR_ENV = "JUPYTER_MLOPS_RUN_DIR"
METRICS_FILE = "metrics.jsonl"
ARTIFACTS_FILE = "artifacts.jsonl"
INPUTS_FILE = "inputs.jsonl"
CODE_SUFFIXES = (".py", ".pyc", ".so", ".pth")
_GUARD = threading.local()


def _run_dir() -> Optional[Path]:
    value = os.environ.get(RUN_DIR_ENV)
    return Path(value) if value else None


def _append(name: str, record: dict) -> None:
    run_dir = _run_dir()
    if run_dir is None:
        return
    with open(run_dir / name, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


def log_metric(name: str, value: float, step: Optional[int] = None) -> float:
    """Record a metric in the current run (or print it when not running as a job)."""
    number = float(value)
    if math.isnan(number):
        print(f"warning: metric {name!r} is NaN", file=sys.stderr)
    if _run_dir() is None:
        print(f"{name}: {number:g}" + (f" (step {step})" if step is not None else ""))
    else:
        _append(METRICS_FILE, {"name": str(name), "value": number, "step": step})
    return number


def log_artifact(path: Union[str, "os.PathLike[str]"], name: Optional[str] = None) -> str:
    """Copy a file into the current run's artifacts (or just name it when run by hand)."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"log_artifact: no such file {source}")
    run_dir = _run_dir()
    if run_dir is None:
        print(f"artifact: {source}")
        return str(source)
    target = run_dir / "artifacts" / (name or source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    _append(ARTIFACTS_FILE, {"name": target.name, "source": str(source.resolve())})
    return str(target)


def excluded_roots() -> tuple[str, ...]:
    """Folders whose files are never data: the Python installation, tool caches, the run."""
    home = Path.home()
    # The Python installation and tool caches/configs (matplotlib's font cache, ...) are not data.
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/proc", "/sys", "/dev", "/etc",
             "/usr", *(str(home / d) for d in (".ipython", ".local", ".cache", ".config",
                                                ".jupyter", ".matplotlib"))}
    roots |= {os.environ[v] for v in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
              if os.environ.get(v)}
    roots |= {p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p}
    run_dir = _run_dir()
    if run_dir is not None:
        roots.add(str(run_dir))
    return tuple(sorted(os.path.realpath(r) for r in roots))


def bind_run(run_dir: str) -> None:
    """Make this process (a job's kernel) record into ``run_dir`` from now on."""
    os.environ[RUN_DIR_ENV] = str(run_dir)
    start_audit()


def start_audit() -> None:
    """Record every data file the kernel opens for reading (outside the Python installation)."""
    if _run_dir() is None:
        return
    excluded = excluded_roots()
    seen: set[str] = set()  # already recorded, or written by the run itself (an output)

    def hook(event: str, args: tuple) -> None:
        if event != "open" or getattr(_GUARD, "busy", False):
            return
        path, mode = args[0], args[1]
        if not isinstance(path, (str, bytes, os.PathLike)) or isinstance(path, int):
            return
        _GUARD.busy = True
        try:
            writing = mode is not None and any(flag in str(mode) for flag in "wax+")
            # Every import opens files: rule those out on the string alone, before realpath's
            # system calls (this hook runs on each open in the kernel).
            text = os.path.abspath(os.fsdecode(path))
            if not writing and (text.endswith(CODE_SUFFIXES) or text.startswith(excluded)):
                return
            full = os.path.realpath(text)
            if writing:
                seen.add(full)
                return
            if (full in seen or full.endswith(CODE_SUFFIXES) or full.startswith(excluded)
                    or not os.path.isfile(full)):
                return
            seen.add(full)
            _append(INPUTS_FILE, {"path": full})
        except Exception:  # pylint: disable=broad-except  # auditing must never break a cell
            pass
        finally:
            _GUARD.busy = False

    sys.addaudithook(hook)
