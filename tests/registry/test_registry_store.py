"""Registry writes: atomic, distinct versions under concurrency, an append-only audit log, a
registration killed mid-way leaves nothing behind."""

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from jupyter_mlops.errors import ConfigError
from jupyter_mlops.registry import Registry
from jupyter_mlops.store import RunStore


def _stage(registry: Registry, tag: str):
    registry.root.mkdir(parents=True, exist_ok=True)
    staged = registry.root / f".staging-{tag}"
    (staged / "model").mkdir(parents=True)
    (staged / "model" / "model.pkl").write_bytes(tag.encode())
    return staged


def _register_many(home: str, tag: str, count: int) -> None:
    registry = Registry(RunStore(home))
    for number in range(count):
        registry.add("m", f"run-{tag}-{number}", _stage(registry, f"{tag}-{number}"),
                     {"package": "m"})


def test_concurrent_registrations_get_distinct_versions(tmp_path):
    home = str(tmp_path / ".mlops")
    RunStore(home)
    workers = [multiprocessing.Process(target=_register_many, args=(home, str(n), 10))
               for n in range(4)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(120)
        assert proc.exitcode == 0
    versions = Registry(RunStore(home)).versions("m")
    assert [v.version for v in versions] == list(range(1, 41))
    # each folder holds the model of the run its row names
    for item in versions:
        tag = item.run_id.removeprefix("run-")
        assert (item.path / "model" / "model.pkl").read_bytes() == tag.encode()


def test_an_existing_version_folder_is_never_replaced(tmp_path):
    """A folder without its row (a registration killed before its commit, or a store that
    was lost) keeps its number: the next version gets a new one."""
    registry = Registry(RunStore(tmp_path / ".mlops"))
    orphan = registry.root / "m" / "1"
    orphan.mkdir(parents=True)
    (orphan / "half-written").write_text("x")
    item = registry.add("m", "run-a", _stage(registry, "a"), {"package": "m"})
    assert item.version == 2 and (orphan / "half-written").read_text() == "x"


def test_the_audit_log_is_append_only(tmp_path):
    store = RunStore(tmp_path / ".mlops")
    registry = Registry(store)
    registry.add("m", "run-a", _stage(registry, "a"), {"package": "m"})
    with store.connect() as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE registry_events SET actor = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("DELETE FROM registry_events")
    assert [e["action"] for e in registry.events("m")] == ["registered"]


def test_stage_names_and_model_names_are_checked(tmp_path):
    registry = Registry(RunStore(tmp_path / ".mlops"))
    with pytest.raises(ConfigError):
        registry.add("../x", "run", _stage(registry, "x"), {})
    registry.add("m", "run-a", _stage(registry, "a"), {"package": "m"})
    with pytest.raises(ConfigError, match="unknown stage"):
        registry.set_stage("m", 1, "prod", reason=None, details={})


KILLED = """
import sys, time
from pathlib import Path
from jupyter_mlops.registry import Registry
from jupyter_mlops.store import RunStore
import jupyter_mlops.registry.store as module

registry = Registry(RunStore(sys.argv[1]))
staged = registry.root / ".staging-k"
(staged / "model").mkdir(parents=True)
real_rename = module.os.rename

def slow_rename(src, dst):
    real_rename(src, dst)
    print("moved", flush=True)
    time.sleep(60)  # killed here: the folder is in place, the row is not committed

module.os.rename = slow_rename
registry.add("m", "run-k", staged, {"package": "m"})
"""


def test_a_registration_killed_before_its_commit_leaves_no_version(tmp_path):
    home = tmp_path / ".mlops"
    RunStore(home)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(home)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "moved"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    registry = Registry(RunStore(home))
    assert registry.versions("m") == [] and registry.events("m") == []
    deadline = time.time() + 30  # the killed writer's lock is released with its process
    while True:
        try:
            item = registry.add("m", "run-next", _stage(registry, "next"), {"package": "m"})
            break
        except sqlite3.OperationalError:
            if time.time() > deadline:
                raise
    # the killed one's folder keeps its number (never replaced); the next version is new
    assert item.version == 2 and item.run_id == "run-next"
    assert (item.path / "model" / "model.pkl").read_bytes() == b"next"
