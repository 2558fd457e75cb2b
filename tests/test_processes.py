"""Children die with their parent, even when it is killed -9, and what a killed command left
is cleaned at the next start."""

import os
import signal
import subprocess
import sys
import time

import psutil  # an ipykernel dependency
import pytest

from jupyter_mlops.processes import is_alive, owned_dir, process_token, sweep_abandoned
from jupyter_mlops.productionize import productionize

from .conftest import MESSY, write_notebook

PARENT = """
import subprocess, sys, time
from jupyter_mlops.processes import bound_to_parent
child = subprocess.Popen(bound_to_parent(["sleep", "300"]))
print(child.pid, flush=True)
time.sleep(300)
"""


def gone(pids, timeout=10.0) -> bool:
    """Whether every process in ``pids`` has exited (zombies count as exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def test_a_bound_child_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert psutil.pid_exists(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    assert gone([child])


def test_process_tokens_tell_a_live_process_from_a_gone_one():
    me = process_token()
    assert is_alive(me) and me.endswith("@" + os.uname().nodename)
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    assert not is_alive(f"{done.stdout.strip()}:1.00@{os.uname().nodename}")
    assert is_alive("1:1.00@another-machine")  # cannot be checked from here: not reaped


def test_only_folders_of_dead_owners_are_swept(tmp_path):
    mine = owned_dir(tmp_path, ".tmp-")
    dead = tmp_path / ".tmp-999999_12.00-abcd"
    dead.mkdir()
    other = tmp_path / ".tmp-not-ours"
    other.mkdir()
    assert sweep_abandoned(tmp_path, ".tmp-") == [dead]
    assert mine.is_dir() and other.is_dir()


@pytest.mark.slow
def test_kill_9_of_productionize_leaves_no_pylint_or_pytest_running(tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "productionize", str(nb),
                             "--out", str(out), "--no-execute"], stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    checks = []
    while not checks and time.monotonic() < deadline and proc.poll() is None:
        checks = [c.pid for c in parent.children(recursive=True)
                  if any(tool in " ".join(c.cmdline()) for tool in ("pylint", "pytest"))]
        time.sleep(0.05)
    assert checks, "pylint/pytest never started"
    time.sleep(0.5)  # past the exec of the guard into the tool
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(checks)
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp-")]
    assert staged  # what the killed run left ...
    productionize(nb, out, execute=False, checks=False)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # ... is cleaned
