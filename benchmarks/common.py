"""Shared by the benchmarks: wall time of a command as a fresh process."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Union

#: A benchmark entry: a command (timed as a fresh process) or a callable timing itself.
Timed = Union[list, Callable[[], float]]


def timed(argv: list[str], cwd: Path, repeat: int, env: Optional[dict] = None) -> float:
    """Median wall seconds of ``argv`` over ``repeat`` fresh processes; exit if it fails."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env,
                              check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def timed_together(commands: dict[str, Timed], cwd: Path, repeat: int,
                   env: Optional[dict] = None,
                   reduce: Callable[[list], float] = statistics.median) -> dict[str, float]:
    """Median wall seconds of each command (or callable returning its own seconds), run in
    interleaved rounds (a, b, c, a, b, c, ...) so that drift in the machine's load falls on
    every entry alike. ``reduce`` makes one figure of each entry's times (median, or min for
    best-of)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(argv() if callable(argv) else timed(argv, cwd, 1, env))
    return {name: reduce(values) for name, values in times.items()}
