"""The SQLite run store: versioned schema, finding .mlops like git finds .git, concurrency."""

import multiprocessing
import sqlite3

import pytest

from jupyter_mlops.errors import ConfigError, StoreError
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


def test_a_store_above_the_repository_does_not_capture_its_runs(tmp_path, monkeypatch):
    # a stray ~/.mlops or /tmp/.mlops (a command once run there) must not take every project
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    (tmp_path / ".mlops").mkdir()
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "nb").mkdir()
    assert find_home(tmp_path / "repo" / "nb") == tmp_path / "repo" / ".mlops"
    assert find_home(tmp_path / "elsewhere") == tmp_path / ".mlops"  # outside any repository


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


def test_each_schema_migration_keeps_a_backup(tmp_path):
    home = tmp_path / ".mlops"
    home.mkdir()
    with sqlite3.connect(home / "mlops.db") as db:  # a store at schema 1, with a run
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO runs (id, status, notebook, created) "
                   "VALUES ('r1', 'succeeded', 'nb.ipynb', 1.0)")
        db.execute("PRAGMA user_version=1")
    store = RunStore(home)
    assert store.schema_version == len(MIGRATIONS) and store.get("r1").status == "succeeded"
    backups = sorted(p.name for p in home.glob("mlops.db.bak-schema*"))
    assert backups == [f"mlops.db.bak-schema{n}" for n in range(1, len(MIGRATIONS))]
    with sqlite3.connect(home / "mlops.db.bak-schema1") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert db.execute("SELECT id FROM runs").fetchall() == [("r1",)]


def damage(path, how: str) -> None:
    """Empty, truncate to half, or overwrite with bytes that are not SQLite."""
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2],
                      "garbage": bytes(range(256)) * 40}[how])


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_a_damaged_store_is_named_never_taken_for_a_new_one(tmp_path, how):
    home = tmp_path / ".mlops"
    store = RunStore(home)
    for _ in range(40):  # enough rows for several pages
        store.create_run("nb.ipynb", "sha", {"x": "y" * 200})
    damage(store.path, how)
    damaged = store.path.read_bytes()
    with pytest.raises(StoreError) as info:
        RunStore(home).list()
    message = str(info.value)
    assert str(store.path) in message and "move it away" in message
    assert info.value.exit_code == 2
    assert store.path.read_bytes() == damaged  # nothing was written to it


def test_damage_found_by_a_query_is_a_store_error(tmp_path):
    """Every page after the first overwritten: the header is fine, a query finds it."""
    store = RunStore(tmp_path / ".mlops")
    for _ in range(60):
        store.create_run("nb.ipynb", "sha", {"x": "y" * 500})
    data = bytearray(store.path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xff" * (len(data) - page)
    store.path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="unreadable"):
        RunStore(tmp_path / ".mlops").list(limit=1000)
