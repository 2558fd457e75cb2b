"""Sweeps: a grid run in parallel locally, on a real Dask cluster, and ten runs at once."""

import json
import subprocess
import sys
import time

import pytest

from jupyter_mlops.jobs.sweep import run_sweep
from jupyter_mlops.store import RunStore

from ..conftest import free_port

pytestmark = pytest.mark.slow


def test_local_sweep_expands_the_grid_and_ranks_by_metric(project):
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "run", "job.ipynb", "-p", "epochs", "2,4",
         "-p", "lr", "0.5,1.0", "--workers", "2", "--json"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    runs = result["runs"]
    assert len(runs) == 4 and {r["status"] for r in runs} == {"succeeded"}
    assert sorted((r["parameters"]["epochs"], r["parameters"]["lr"]) for r in runs) == [
        (2, 0.5), (2, 1.0), (4, 0.5), (4, 1.0)]
    ranked = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "runs", "compare", result["sweep_id"],
         "--metric", "loss", "--ascending", "--json"],
        cwd=project, capture_output=True, text=True, check=False)
    order = [r["metrics"]["loss"] for r in json.loads(ranked.stdout)["runs"]]
    assert order == sorted(order) and order[0] == pytest.approx(1.0)
    store = RunStore(project / ".mlops")
    assert store.sweep(result["sweep_id"])["grid"] == {"epochs": [2, 4], "lr": [0.5, 1.0]}


def test_a_parallel_sweep_shows_no_black_formatting_noise(project):
    # papermill imports black lazily; threads importing it at once saw it half initialised
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "run", "job.ipynb", "-p", "epochs", "1,2,3",
         "--workers", "3"], cwd=project, capture_output=True, text=True, timeout=300,
        check=False)
    assert done.returncode == 0, done.stderr
    assert "Black" not in done.stderr


def test_ten_concurrent_runs_are_all_recorded(project):
    values = ",".join(str(n) for n in range(1, 11))
    outcome = run_sweep(project / "job.ipynb", {"epochs": values}, workers=10)
    assert len(outcome.runs) == 10
    store = RunStore(project / ".mlops")
    runs = store.list(sweep_id=outcome.sweep_id)
    assert len(runs) == 10 and all(r.status == "succeeded" for r in runs)
    assert sorted(r.parameters["epochs"] for r in runs) == list(range(1, 11))
    assert all("loss" in r.metrics for r in runs)


@pytest.fixture
def dask_cluster(tmp_path):
    """A real dask scheduler and two single-threaded workers on 127.0.0.1."""
    pytest.importorskip("distributed")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0", "--no-show"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    from distributed import Client  # pylint: disable=import-outside-toplevel

    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address,
                 "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--local-directory", str(tmp_path / "dask")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    if len(client.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail("dask cluster did not start")
            time.sleep(1)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_sweep_on_a_dask_cluster(project, dask_cluster):
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "run", "job.ipynb", "-p", "epochs", "2,3,4",
         "--dask", dask_cluster, "--json"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert sorted(r["parameters"]["epochs"] for r in runs) == [2, 3, 4]
    assert all(r["status"] == "succeeded" and "loss" in r["metrics"] for r in runs)


def test_dask_address_that_answers_nothing_is_a_clear_error(project):
    pytest.importorskip("distributed")
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "run", "job.ipynb", "-p", "epochs", "2,3",
         "--dask", f"tcp://127.0.0.1:{free_port()}"],
        cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "Dask" in done.stderr and "Traceback" not in done.stderr
