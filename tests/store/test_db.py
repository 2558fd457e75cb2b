"""The SQLite run store: versioned schema, finding .mlops like git finds .git, concurrency."""

import multiprocessing
import sqlite3

import pytest

from jupyter_mlops.errors import ConfigError
from jupyter_mlops.store import RunStore, find_home
from jupyter_mlops.store.db import MIGRATIONS


def test_new_store_is_at_the_latest_schema_and_reopens(tmp_path):
    store = RunStore(tmp_path / ".mlops")
    assert store.schema_version == len(MIGRATIONS)
    run_id = store.create_run("nb.ipynb", "sha", {"a": 1})
    assert RunStore(tmp_path / ".mlops").get(run_id).parameters == {"a": 1}
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_newer_schema_is_refused_not_damaged(tmp_path):
    store = RunStore(tmp_path / ".mlops")
    with sqlite3.connect(store.path) as db:
        db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigError, match="newer jupyter-mlops"):
        RunStore(tmp_path / ".mlops")


def test_home_is_found_like_git(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    deep = tmp_path / "repo" / "notebooks" / "x"
    deep.mkdir(parents=True)
    assert find_home(deep) == tmp_path / "repo" / ".mlops"
    (deep / ".mlops").mkdir()
    assert find_home(deep) == deep / ".mlops"
    monkeypatch.setenv("JUPYTER_MLOPS_HOME", str(tmp_path / "custom"))
    assert find_home(deep) == tmp_path / "custom"


def test_unknown_and_ambiguous_ids(tmp_path):
    store = RunStore(tmp_path / ".mlops")
    with pytest.raises(ConfigError, match="no such run"):
        store.get("nope")
    store.create_run("a.ipynb", None, {})
    store.create_run("b.ipynb", None, {})
    with pytest.raises(ConfigError, match="several runs match"):
        store.get("2")


def _writer(home: str, count: int) -> None:
    store = RunStore(home)
    for step in range(count):
        run_id = store.create_run("nb.ipynb", None, {"step": step})
        store.update(run_id, status="running", started=1.0, record={"k": step})
        store.add_metrics(run_id, [{"name": "m", "value": float(step)}])
        store.update(run_id, status="succeeded", ended=2.0)


def test_concurrent_writers_lose_nothing(tmp_path):
    home = str(tmp_path / ".mlops")
    RunStore(home)
    procs = [multiprocessing.Process(target=_writer, args=(home, 20)) for _ in range(10)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs)
    runs = RunStore(home).list(limit=1000)
    assert len(runs) == 200 and all(r.status == "succeeded" and "m" in r.metrics for r in runs)
