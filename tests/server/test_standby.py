"""The server keeps a worker with a started kernel waiting, and "Run as Job" takes it."""

import asyncio

import psutil  # an ipykernel dependency
import pytest

from ..conftest import write_notebook
from .test_handlers import fetch

pytestmark = pytest.mark.slow

NOTEBOOK = [("parameters", "alpha = 1.0"),
            "import os\nfrom jupyter_mlops import log_metric\n"
            "log_metric('saw_leftover', float('leftover' in globals()))\n"
            "log_metric('pid', os.getpid())\nleftover = alpha"]


@pytest.fixture
def jp_server_config(jp_server_config):  # noqa: F811 - the package conftest's, extended
    return {**jp_server_config, "MlopsExtension": {"standby_kernel": True}}


def _standbys(root) -> list:
    """Standby workers of the server with this root (other servers may run tests too)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = proc.info["cmdline"] or []
        try:
            if "--standby" in line and line[-1] == str(root) and proc.status() != "zombie":
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


async def _finished(jp_fetch, run_id: str) -> dict:
    for _ in range(600):
        _, run = await fetch(jp_fetch, "runs", run_id)
        if run.get("status") not in ("queued", "running"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


async def test_run_as_job_takes_the_waiting_kernel_and_the_next_job_gets_a_new_one(
        jp_fetch, jp_root_dir, jp_serverapp):
    write_notebook(jp_root_dir / "work" / "fit.ipynb", NOTEBOOK)
    app = jp_serverapp.extension_manager.extension_apps["jupyter_mlops"]
    standby = next(iter(app))
    assert standby.standby is not None
    runs = []
    for alpha in (0.5, 2.0):
        code, started = await fetch(jp_fetch, "runs", method="POST",
                                    body={"path": "work/fit.ipynb",
                                          "parameters": {"alpha": alpha}})
        assert code == 202, started
        runs.append(await _finished(jp_fetch, started["run"]))
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    assert [r["metrics"]["saw_leftover"] for r in runs] == [0.0, 0.0]
    assert runs[0]["metrics"]["pid"] != runs[1]["metrics"]["pid"]
    for run in runs:
        _, full = await fetch(jp_fetch, "runs", run["id"])
        assert full["timings"]["kernel_pre_started"] is True, full
    root = jp_root_dir.resolve()
    for _ in range(100):  # the workers that ran the jobs exit once they recorded them
        if len(_standbys(root)) == 1:
            break
        await asyncio.sleep(0.1)
    assert len(_standbys(root)) == 1  # the one waiting for the next job
    await app_stop(standby)
    assert not _standbys(root)


async def app_stop(app) -> None:
    """What the server does at shutdown."""
    await app.stop_extension()
