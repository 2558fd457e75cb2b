"""Sweeps: a grid of parameter values, each a recorded run, in parallel locally or on Dask.

Locally, runs go in threads of this process (each drives its own kernel). On Dask, each run is
a ``python -m jupyter_mlops run`` subprocess started by a worker, recorded exactly like a local
run (the store must be on a file system the workers share; here they run on one machine).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import ConfigError
from ..processes import bound_to_parent
from ..store import Run, RunStore, find_home
from ..store.db import HOME_ENV
from .kernels import KernelPool
from .progress import ProgressCallback
from .run import execute_run, prepare, resolve_tracking

#: Given one run's parameter values, the progress callback for that run (local sweeps).
ProgressFactory = Callable[[dict], Optional[ProgressCallback]]


@dataclass(frozen=True)
class SweepOutcome:
    """The sweep's id and its runs, in grid order."""

    sweep_id: str
    runs: tuple[Run, ...]
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when every run succeeded, else the first failing run's code."""
        from .run import JobOutcome  # pylint: disable=import-outside-toplevel

        codes = [JobOutcome(r).exit_code for r in self.runs]
        return next((c for c in codes if c), 0)


def _argv(notebook: Path, values: dict, sweep_id: str, tracking: Optional[str]) -> list[str]:
    argv = [sys.executable, "-m", "jupyter_mlops", "run", str(notebook), "--json",
            "--sweep-id", sweep_id]
    if tracking:
        argv += ["--tracking", "mlflow+" + tracking]
    if values:
        # One JSON mapping (JSON is YAML) keeps each value typed and whole: a list's commas
        # would make `-p name '["a", "b"]'` read as a sweep again.
        argv += ["-y", json.dumps(values)]
    return argv


def run_one(argv: list[str], home: str) -> str:
    """Run one sweep member as a subprocess (locally or inside a Dask worker); its run id."""
    env = dict(os.environ, **{HOME_ENV: home})
    done = subprocess.run(bound_to_parent(argv), capture_output=True, text=True, env=env,
                          check=False)
    try:
        return json.loads(done.stdout)["id"]
    except (ValueError, KeyError):
        raise RuntimeError(f"run did not start: {done.stderr.strip()[-500:]}") from None


def _dask_client(dask: str):
    try:
        from distributed import Client  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ConfigError("--dask needs Dask: pip install 'jupyter-mlops[dask]'") from None
    try:
        return Client(dask, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {dask}: {exc}") from None


def _import_black() -> None:
    """Import black here, before the run threads: papermill formats the injected parameters
    with it, imported lazily, and threads importing compiled black at once can see it half
    initialised (``module 'black' has no attribute 'FileMode'``; their cells go unformatted)."""
    try:
        importlib.import_module("black")
    except ImportError:
        pass  # papermill then injects the parameters unformatted, as it does everywhere


def _local(store: RunStore, nb, nb_path: Path, grid: list[dict], sweep_id: str, *,
           workers: int, progress_for: Optional[ProgressFactory],
           tracking: Optional[str]) -> list[str]:
    """Runs in threads of this process: each on a kernel of its own, started while earlier
    members run (a pool ``workers`` ahead); the imports and interpreter start-up a subprocess
    per run would pay are paid once."""
    workers = max(1, workers)
    kernels = KernelPool(nb.kernel_name or "python3", nb_path.parent, ahead=workers,
                         remaining=len(grid))

    def one(values: dict) -> str:
        progress = progress_for(values) if progress_for else None
        return execute_run(store, nb, nb_path, values, sweep_id=sweep_id, progress=progress,
                           tracking=tracking, kernels=kernels).id

    if workers > 1 and len(grid) > 1:
        _import_black()
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlops-run") as pool:
            return list(pool.map(one, grid))
    finally:
        kernels.close()


def run_sweep(notebook: os.PathLike, parameters: dict, *, workers: int = 1,
              dask: Optional[str] = None, home: Optional[os.PathLike] = None,
              announce: Optional[Callable[[str], None]] = None,
              progress_for: Optional[ProgressFactory] = None,
              tracking: Optional[str] = None) -> SweepOutcome:
    """Run every combination of the parameter values as a recorded run of one sweep."""
    nb, nb_path, typed = prepare(notebook, parameters)
    uri = resolve_tracking(tracking)
    grid = typed.grid()
    store = RunStore(home or find_home(nb_path.parent))
    client = _dask_client(dask) if dask else None
    sweep_id = store.create_sweep(nb.path, typed.values)
    if announce is not None:
        announce(sweep_id)
    if client is None:
        run_ids = _local(store, nb, nb_path, grid, sweep_id, workers=workers,
                         progress_for=progress_for, tracking=uri)
    else:
        argvs = [_argv(nb_path, values, sweep_id, uri) for values in grid]
        try:
            run_ids = client.gather(client.map(run_one, argvs, [str(store.home)] * len(argvs),
                                               pure=False))
        finally:
            client.close()
    return SweepOutcome(sweep_id, tuple(store.get(r) for r in run_ids), typed.warnings)


def rank(store: RunStore, sweep_id: str, metric: Optional[str] = None,
         descending: bool = True) -> tuple[Optional[str], list[Run]]:
    """A sweep's runs ordered by ``metric`` (default: the first metric any run logged)."""
    runs = store.list(sweep_id=sweep_id)
    if not runs:
        raise ConfigError(f"no runs in sweep {sweep_id!r}")
    metric = metric or next((m for r in runs for m in sorted(r.metrics)), None)
    if metric is None:
        return None, runs
    scored = [r for r in runs if metric in r.metrics]
    missing = [r for r in runs if metric not in r.metrics]
    scored.sort(key=lambda r: r.metrics[metric], reverse=descending)
    return metric, scored + missing
