"""The extension as a configurable ExtensionApp; jobs it did not start (a restarted server's)
can be followed and cancelled, because their process and progress are in the run store."""

import asyncio
import json

import pytest

from jupyter_mlops.jobs.launch import start_job
from jupyter_mlops.server import MlopsExtension

from ..conftest import write_notebook
from .test_handlers import fetch, wait_for, wait_for_cell


@pytest.fixture
def jp_server_config(jp_server_config):  # noqa: F811 - the package conftest's, extended
    return {**jp_server_config,
            "MlopsExtension": {"task_workers": 3, "task_expiry": 1.0, "job_workers": 2}}


def test_traitlets_size_the_executor(jp_serverapp):
    app = jp_serverapp.extension_manager.extension_apps["jupyter_mlops"]
    (extension,) = app
    assert isinstance(extension, MlopsExtension)
    assert extension.tasks.pool._max_workers == 3  # pylint: disable=protected-access
    assert extension.tasks.expiry == 1.0 and extension.job_workers == 2


async def test_finished_tasks_expire(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", [("setup", "import os"),
                                               ("data", "df = load(path)")])
    code, data = await fetch(jp_fetch, "productionize", method="POST",
                             body={"path": "bad.ipynb", "execute": False})
    assert code == 202
    for _ in range(100):
        code, state = await fetch(jp_fetch, "tasks", data["task"])
        if state["status"] != "running":
            break
        await asyncio.sleep(0.1)
    assert code == 200 and state["status"] == "failed"
    await asyncio.sleep(1.5)
    code, state = await fetch(jp_fetch, "tasks", data["task"])
    assert code == 404 and "forgotten" in state["message"]


@pytest.mark.slow
async def test_a_job_started_elsewhere_is_followed_and_cancelled(jp_fetch, jp_root_dir):
    """As after a server restart: this server holds nothing about the job in memory."""
    write_notebook(jp_root_dir / "slow.ipynb", [("parameters", "seconds = 60"),
                                                "import time\ntime.sleep(seconds)"])
    launched = start_job(jp_root_dir / "slow.ipynb", home=jp_root_dir / ".mlops")
    await wait_for(jp_fetch, launched.id, until=("running",))
    running = await wait_for_cell(jp_fetch, launched.id, "cell 2 (id c2)")
    assert running["progress"]["done"] == 1
    code, answer = await fetch(jp_fetch, "runs", launched.id, method="DELETE")
    assert code == 202 and answer["cancelled"] == [launched.id]
    assert (await wait_for(jp_fetch, launched.id))["status"] == "cancelled"
    code, again = await fetch(jp_fetch, "runs", launched.id, method="DELETE")
    assert code == 409 and "already ended" in again["message"]
    code, listed = await fetch(jp_fetch, "runs")
    assert str(jp_root_dir) not in json.dumps(listed)
    run = listed["runs"][0]
    assert run["executed_path"] == f".mlops/runs/{launched.id}/executed.ipynb"
    assert run["notebook_path"] == "slow.ipynb"
