"""Pre-started kernels: sweeps and the server's standby worker, each kernel for one run only."""

import json
import subprocess
import sys
import time

import psutil  # an ipykernel dependency
import pytest

from jupyter_mlops.jobs import lineage
from jupyter_mlops.jobs.run import run_job
from jupyter_mlops.jobs.standby import Standby
from jupyter_mlops.jobs.sweep import run_sweep

from ..conftest import write_notebook

pytestmark = pytest.mark.slow

#: A notebook that tells whether its kernel ran anything before it, and which process it is.
FRESH = [
    ("parameters", "epochs = 1"),
    "import os\nimport pandas as pd\nfrom jupyter_mlops import log_metric\n"
    "seen_before = 'leftover' in globals()\ndf = pd.read_csv('data.csv')",
    "log_metric('saw_leftover', float(seen_before))\nlog_metric('pid', os.getpid())\n"
    "log_metric('epochs', epochs)\nleftover = epochs",
]


def _kernels() -> set:
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())}


def test_sweep_members_run_on_pre_started_kernels_that_no_other_run_used(project):
    write_notebook(project / "fresh.ipynb", FRESH)
    before = _kernels()
    outcome = run_sweep(project / "fresh.ipynb", {"epochs": "1,2,3"}, workers=1)
    runs = sorted(outcome.runs, key=lambda r: r.parameters["epochs"])
    assert [r.status for r in runs] == ["succeeded"] * 3
    # each run's metrics went to its own run: the kernel was bound to the right folder
    assert [r.metrics["epochs"] for r in runs] == [1.0, 2.0, 3.0]
    assert all(r.metrics["saw_leftover"] == 0.0 for r in runs)
    assert len({r.metrics["pid"] for r in runs}) == 3
    # the data-file audit hook was started in every kernel, pre-started or not
    assert all(any(i["path"].endswith("data.csv") for i in r.record["inputs"]) for r in runs)
    timings = [r.record["timings"] for r in runs]
    assert all(t["kernel_pre_started"] for t in timings)
    assert all(t["total"] >= t["execution"] > 0 for t in timings)
    assert _kernels() == before  # none left running, none left waiting


def test_runs_show_timings_names_each_phase(project):
    run = run_job(project / "job.ipynb").run
    timings = run.record["timings"]
    assert {"kernel_start", "execution", "lineage", "saving", "total"} <= set(timings)
    assert timings["kernel_pre_started"] is False
    parts = sum(timings[k] for k in ("kernel_start", "execution", "lineage", "saving"))
    assert parts <= timings["total"] + 1e-3
    shown = subprocess.run([sys.executable, "-m", "jupyter_mlops", "runs", "show", run.id,
                            "--timings"], cwd=project, capture_output=True, text=True,
                           check=False)
    assert shown.returncode == 0, shown.stderr
    for label in ("kernel start", "execution", "lineage", "saving",
                  "started for this run"):
        assert label in shown.stdout
    data = json.loads(subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "runs", "show", run.id, "--timings", "--json"],
        cwd=project, capture_output=True, text=True, check=False).stdout)
    assert data == {"id": run.id, "timings": timings}


def test_the_package_listing_is_cached_until_something_is_installed(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path), str(site)])
    calls = []
    real = lineage.environment
    monkeypatch.setattr(lineage, "environment", lambda: calls.append(1) or real())
    first = lineage.cached_environment(tmp_path / "home")
    assert lineage.cached_environment(tmp_path / "home") == first and len(calls) == 1
    time.sleep(0.01)
    (site / "newpkg-1.0.dist-info").mkdir()  # what an install does to a folder on sys.path
    lineage.cached_environment(tmp_path / "home")
    assert len(calls) == 2
    (tmp_path / "notes.txt").write_text("a project file")  # not where packages go
    lineage.cached_environment(tmp_path / "home")
    assert len(calls) == 2
    (tmp_path / "home" / "cache" / "environment.json").write_text("{not json")
    assert lineage.cached_environment(tmp_path / "home") == first and len(calls) == 3


def test_a_standby_worker_ends_with_its_kernel_when_stopped(project):
    standby = Standby(project)
    standby.start()
    proc = standby._proc  # pylint: disable=protected-access
    deadline = time.time() + 60
    while time.time() < deadline and not _children_kernels(proc.pid):
        time.sleep(0.2)
    kernels = _children_kernels(proc.pid)
    assert kernels, "the standby worker started no kernel"
    standby.stop()
    assert proc.poll() is not None
    assert not any(psutil.pid_exists(k) and psutil.Process(k).status() != "zombie"
                   for k in kernels)


def _children_kernels(pid: int) -> set:
    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)
                if "ipykernel" in " ".join(p.cmdline())}
    except psutil.NoSuchProcess:
        return set()
