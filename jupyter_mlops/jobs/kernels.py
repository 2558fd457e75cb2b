"""Kernels for jobs: started for one run, or ahead of time and handed to exactly one run.

A kernel's start-up (~0.6-1.5 s) is most of a small job. :class:`KernelPool` starts kernels
before the runs that will use them exist, so a sweep member's or the server's next job finds
one ready; each kernel still serves one run only and is shut down after it, so a run never
sees another run's variables. A pre-started kernel is bound to its run when taken
(:func:`bind_kernel`): it is told the run's folder (``log_metric``, the data-file audit hook)
and moves to the notebook's folder, what :func:`start_kernel` passes a fresh kernel at launch.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import MlopsError

KERNEL_LOG = "kernel.log"
#: History in memory, as nbclient does for kernels it starts: a job must not write the user's
#: IPython history database.
HISTORY = "--HistoryManager.hist_file=:memory:"


class KernelStartError(MlopsError):
    """A pre-started kernel could not be bound to its run."""


def _bind_code(run_dir: Path, cwd: Optional[Path]) -> str:
    """Python run in the kernel that points ``log_metric`` and the audit hook at the run."""
    move = f"__import__('os').chdir({str(cwd)!r}); " if cwd is not None else ""
    return move + f"__import__('jupyter_mlops.tracking').tracking.bind_run({str(run_dir)!r})"


def missing_kernel(name: str) -> str:
    """What to tell a user whose notebook names a kernel that is not installed."""
    return (f"the notebook's kernel {name!r} is not installed here; `jupyter kernelspec list` "
            "shows the installed kernels (set one in the notebook's Kernel menu)")


def _kernel_specs() -> Any:
    """jupyter_client's kernel-spec lookup over its usual folders. Its default for them
    imports IPython only to find ``~/.ipython/kernels`` (0.8 s of CPU, in every process that
    starts a kernel); named here as IPython's own ``get_ipython_dir`` names it."""
    # pylint: disable=import-outside-toplevel
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_path

    ipython = os.environ.get("IPYTHONDIR") or os.path.join(os.path.expanduser("~"), ".ipython")
    return KernelSpecManager(kernel_dirs=[*jupyter_path("kernels"),
                                          os.path.join(ipython, "kernels")])


def start_kernel(name: str, cwd: Path, log: Any, run_dir: Optional[Path] = None) -> Any:
    """Launch a kernel (``AsyncKernelManager``) in ``cwd`` with its stderr on ``log``; bound
    to ``run_dir`` at launch when given, else left for :func:`bind_kernel`."""
    # pylint: disable=import-outside-toplevel
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    specs = _kernel_specs()
    # NoSuchKernel here, before jupyter_client's start would log it with a traceback
    specs.get_kernel_spec(name)
    km = AsyncKernelManager(kernel_name=name, kernel_spec_manager=specs)
    arguments = [HISTORY]
    if run_dir is not None:
        arguments.insert(0, f"--IPKernelApp.exec_lines={_bind_code(run_dir, None)}")
    run_sync(km.start_kernel)(cwd=str(cwd), stderr=log, extra_arguments=arguments)
    return km


def bind_kernel(km: Any, run_dir: Path, cwd: Path, timeout: float = 60.0) -> None:
    """Tell a pre-started kernel its run (silently: the notebook's execution counts and
    history start at 1, as on a fresh kernel)."""
    from jupyter_core.utils import run_sync  # pylint: disable=import-outside-toplevel

    run_sync(_bind)(km, _bind_code(run_dir, cwd), timeout)


async def _bind(km: Any, code: str, timeout: float) -> None:
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=timeout)
        reply = await client.execute_interactive(code, silent=True, store_history=False,
                                                 timeout=timeout)
    finally:
        client.stop_channels()
    content = reply.get("content", {})
    if content.get("status") != "ok":
        raise KernelStartError("a pre-started kernel could not be prepared for the run: "
                               f"{content.get('ename')}: {content.get('evalue')}")


def stop_kernel(km: Any) -> None:
    """Kill a kernel no notebook client took over (or one never used)."""
    from jupyter_core.utils import run_sync  # pylint: disable=import-outside-toplevel

    if km is not None and km.has_kernel:
        run_sync(km.shutdown_kernel)(now=True)


@dataclass
class Kernel:
    """A kernel for one run: its manager, where its stderr goes, and what it cost to get."""

    km: Any
    log_path: Path
    started: float  # time.time() when it was launched
    wait: float = 0.0  # seconds the run waited to get it (a pre-started one: ~0)
    pre_started: bool = False


@dataclass
class KernelPool:
    """Kernels of one kernel spec started ahead of the runs that take them, never reused.

    ``ahead`` kernels are kept starting or ready; each :meth:`take` hands one out and starts
    its replacement while ``remaining`` runs still need one (None: no limit, the server's
    standby). Kernels nobody took are shut down by :meth:`close`.
    """

    name: str
    cwd: Path
    ahead: int = 1
    remaining: Optional[int] = None
    _spare: list = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _starter: Optional[ThreadPoolExecutor] = None
    _logs: Optional[tempfile.TemporaryDirectory] = None

    def __post_init__(self) -> None:
        # removed by close(), once no kernel writes there any more
        self._logs = tempfile.TemporaryDirectory(  # pylint: disable=consider-using-with
            prefix="mlops-kernels-")
        self._starter = ThreadPoolExecutor(max_workers=max(1, self.ahead),
                                           thread_name_prefix="mlops-kernel-start")
        with self._lock:
            for _ in range(self._wanted()):
                self._spare.append(self._launch())

    def _wanted(self) -> int:
        pending = len(self._spare)
        limit = self.ahead if self.remaining is None else min(self.ahead, self.remaining)
        return max(0, limit - pending)

    def _launch(self) -> Future:
        log_path = Path(self._logs.name) / f"{time.monotonic_ns()}-{KERNEL_LOG}"

        def launch() -> Kernel:
            with open(log_path, "wb") as log:  # the kernel keeps its own descriptor
                return Kernel(start_kernel(self.name, self.cwd, log), log_path, time.time())

        return self._starter.submit(launch)

    def expect(self, runs: int) -> None:
        """From now on ``runs`` more runs will take a kernel (the pool starts what they need,
        ``ahead`` at a time)."""
        with self._lock:
            self.remaining = runs
            for _ in range(self._wanted()):
                self._spare.append(self._launch())

    def take(self, name: str, run_dir: Path, cwd: Path) -> Kernel:
        """A kernel bound to ``run_dir`` with its log moved there: a pre-started one of kernel
        spec ``name`` if there is one, else one started now (the pool starts the next)."""
        begun = time.perf_counter()
        spare = None
        with self._lock:
            if name == self.name and self._spare:
                spare = self._spare.pop(0)
            if self.remaining is not None:
                self.remaining = max(0, self.remaining - 1)
            for _ in range(self._wanted()):
                self._spare.append(self._launch())
        if spare is not None:
            try:
                kernel = spare.result()
                log_path = run_dir / KERNEL_LOG
                os.replace(kernel.log_path, log_path)  # the kernel writes on to the same file
                kernel.log_path, kernel.pre_started = log_path, True
                bind_kernel(kernel.km, run_dir, cwd)
                kernel.wait = time.perf_counter() - begun
                return kernel
            except Exception:  # pylint: disable=broad-exception-caught  # a fresh one instead
                if spare.done() and spare.exception() is None:
                    stop_kernel(spare.result().km)
        return fresh_kernel(name, run_dir, cwd, begun)

    def close(self) -> None:
        """Shut down every kernel not taken; the pool takes no more."""
        with self._lock:
            spare, self._spare, self.remaining = self._spare, [], 0
        for future in spare:
            try:
                stop_kernel(future.result().km)
            except Exception:  # pylint: disable=broad-exception-caught  # it never started
                pass
        self._starter.shutdown(wait=True)
        self._logs.cleanup()


def fresh_kernel(name: str, run_dir: Path, cwd: Path, begun: Optional[float] = None) -> Kernel:
    """A kernel started now for ``run_dir``; its launch overlaps the caller's next steps."""
    begun = time.perf_counter() if begun is None else begun
    log_path = run_dir / KERNEL_LOG
    with open(log_path, "wb") as log:
        km = start_kernel(name, cwd, log, run_dir)
    return Kernel(km, log_path, time.time(), time.perf_counter() - begun)
