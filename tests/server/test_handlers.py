"""The REST API under /mlops/api/ against a real Jupyter server."""

import asyncio
import inspect
import json
import os

import pytest
import tornado.httpclient

from jupyter_mlops.server import handlers

from ..conftest import MESSY, write_notebook


async def fetch(jp_fetch, *path, method="GET", body=None, params=None, **kw):
    try:
        response = await jp_fetch("mlops", "api", *path, method=method, params=params,
                                  body=None if body is None else json.dumps(body), **kw)
    except tornado.httpclient.HTTPClientError as exc:
        return exc.code, json.loads(exc.response.body or b"{}") if exc.response else {}
    return response.code, json.loads(response.body)


@pytest.fixture
def notebook(jp_root_dir):
    return write_notebook(jp_root_dir / "work" / "analysis.ipynb", MESSY)


def test_every_handler_verb_is_authenticated_and_authorized():
    for _, handler in handlers.ROUTES:
        for verb in ("get", "put", "post", "delete", "patch"):
            method = handler.__dict__.get(verb)
            if method is None:
                continue
            source = inspect.getsource(method)
            assert "@tornado.web.authenticated" in source and "@authorized" in source, (
                f"{handler.__name__}.{verb}")


async def test_roles_need_a_token(jp_fetch, notebook):
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await jp_fetch("mlops", "api", "roles", params={"path": "work/analysis.ipynb"},
                       headers={"Authorization": ""})
    assert info.value.code == 403


async def test_roles_round_trip(jp_fetch, notebook):
    code, data = await fetch(jp_fetch, "roles", params={"path": "work/analysis.ipynb"})
    assert code == 200 and data["cells"][6] == {"number": 7, "id": "c7", "type": "code",
                                                 "role": "featurization"}
    code, data = await fetch(jp_fetch, "roles", method="PUT",
                             body={"path": "work/analysis.ipynb", "cell": "5", "role": "skip"})
    assert code == 200 and data == {"number": 5, "id": "c5", "role": "skip"}
    code, data = await fetch(jp_fetch, "roles", method="PUT",
                             body={"path": "work/analysis.ipynb", "cell": "5", "role": "bogus"})
    assert code == 422 and "unknown role" in data["message"]


@pytest.mark.parametrize("path, status", [
    ("../outside.ipynb", 403), ("/etc/passwd", 403), ("work/../../x.ipynb", 403),
    ("work/missing.ipynb", 404), ("link/secret.ipynb", 403),
])
async def test_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, tmp_path, notebook,
                                                  path, status):
    outside = tmp_path / "outside"
    write_notebook(outside / "secret.ipynb", MESSY)
    os.symlink(outside, jp_root_dir / "link")
    code, _ = await fetch(jp_fetch, "roles", params={"path": path})
    assert code == status


async def test_suggest_proposes_without_writing(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "plain.ipynb", ["import pandas as pd\n\ndef f(x):\n    return x",
                                                 "df = pd.read_csv('d.csv')"])
    code, data = await fetch(jp_fetch, "suggest", params={"path": "plain.ipynb"})
    assert code == 200 and [s["role"] for s in data["suggestions"]] == ["setup", "data"]


@pytest.mark.slow  # pylint and the generated tests run in the task
async def test_productionize_runs_as_a_task_while_the_server_answers(jp_fetch, notebook):
    code, data = await fetch(jp_fetch, "productionize", method="POST",
                             body={"path": "work/analysis.ipynb", "execute": False})
    assert code == 202
    task = data["task"]
    answered_while_running = False
    for _ in range(240):
        code, state = await fetch(jp_fetch, "tasks", task)
        if state["status"] != "running":
            break
        code, _ = await fetch(jp_fetch, "roles", params={"path": "work/analysis.ipynb"})
        answered_while_running |= code == 200
        await asyncio.sleep(0.5)
    assert state["status"] == "done", state
    assert answered_while_running
    result = state["result"]
    assert result["out_dir"] == "work/build/analysis" and result["ok"]
    assert "analysis/featurize.py" in result["files"] and state["progress"]


async def test_productionize_error_names_the_cell(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "bad.ipynb", [("setup", "import os"),
                                               ("data", "df = load(path)")])
    code, data = await fetch(jp_fetch, "productionize", method="POST",
                             body={"path": "bad.ipynb", "execute": False})
    for _ in range(60):
        code, state = await fetch(jp_fetch, "tasks", data["task"])
        if state["status"] != "running":
            break
        await asyncio.sleep(0.2)
    assert state["status"] == "failed"
    assert state["error"]["cell"] == {"number": 2, "id": "c2"} and state["error"]["status"] == 422
    # files are named as the client names them; the server's directories are not disclosed
    assert state["error"]["message"].startswith("bad.ipynb cell 2"), state["error"]
    assert str(jp_root_dir) not in json.dumps(state)


async def test_bad_body_and_unknown_task(jp_fetch):
    code, _ = await fetch(jp_fetch, "productionize", method="POST", body={"nope": 1})
    assert code == 400
    code, _ = await fetch(jp_fetch, "tasks", "abc123")
    assert code == 404


@pytest.fixture
def job(jp_root_dir):
    (jp_root_dir / "data.csv").write_text("a,b\n1,2\n3,4\n")
    from ..jobs.conftest import BODY, PARAMS  # pylint: disable=import-outside-toplevel

    write_notebook(jp_root_dir / "job.ipynb", [PARAMS, *BODY], kernel=False)
    write_notebook(jp_root_dir / "slow.ipynb", [PARAMS, "import time\ntime.sleep(60)"])
    return jp_root_dir


async def wait_for(jp_fetch, run_id, until=("succeeded", "failed", "cancelled")):
    for _ in range(240):
        code, run = await fetch(jp_fetch, "runs", run_id)
        if code == 200 and run["status"] in until:
            return run
        await asyncio.sleep(0.5)
    raise AssertionError(f"run {run_id} did not reach {until}")


async def wait_for_cell(jp_fetch, run_id, cell: str) -> dict:
    """The run once its progress names ``cell`` as the one running. A cell is reported done
    a moment before the next is reported started (papermill saves the notebook in between),
    so waiting for "one cell done" could see the previous cell's name."""
    for _ in range(120):
        code, run = await fetch(jp_fetch, "runs", run_id)
        if code == 200 and (run.get("progress") or {}).get("cell") == cell:
            return run
        await asyncio.sleep(0.5)
    raise AssertionError(f"run {run_id} never reported {cell} running: {run}")


@pytest.mark.slow
async def test_start_a_job_and_follow_it(jp_fetch, job):
    code, data = await fetch(jp_fetch, "runs", method="POST",
                             body={"path": "job.ipynb", "parameters": {"epochs": 2}})
    assert code == 202, data
    run = await wait_for(jp_fetch, data["run"])
    assert run["status"] == "succeeded" and run["metrics"] == {"loss": 4.0}
    assert run["parameters"] == {"epochs": 2}
    assert run["executed_path"] == f".mlops/runs/{data['run']}/executed.ipynb"
    code, listed = await fetch(jp_fetch, "runs")
    assert [r["id"] for r in listed["runs"]] == [data["run"]]
    code, _ = await fetch(jp_fetch, "runs", "no-such-run")
    assert code == 404


@pytest.mark.slow
async def test_cancel_a_running_job(jp_fetch, job):
    code, data = await fetch(jp_fetch, "runs", method="POST", body={"path": "slow.ipynb"})
    run_id = data["run"]
    await wait_for(jp_fetch, run_id, until=("running",))
    running = await wait_for_cell(jp_fetch, run_id, "cell 2 (id c2)")
    assert running["progress"]["total"] == 2 and running["progress"]["done"] == 1
    code, _ = await fetch(jp_fetch, "runs", run_id, method="DELETE")
    assert code == 202
    assert (await wait_for(jp_fetch, run_id))["status"] == "cancelled"


async def test_bad_parameter_is_refused_before_a_kernel(jp_fetch, job):
    code, data = await fetch(jp_fetch, "runs", method="POST",
                             body={"path": "job.ipynb", "parameters": {"epochs": "ten"}})
    assert code == 400 and "expects an int" in data["message"]


async def test_parameters_form_comes_from_the_parameters_cell(jp_fetch, job):
    code, data = await fetch(jp_fetch, "parameters", params={"path": "job.ipynb"})
    assert code == 200
    assert data["parameters"] == [
        {"name": "epochs", "default": "3", "type": "int"},
        {"name": "lr", "default": "0.5", "type": "float"},
        {"name": "label", "default": "'base'", "type": "str"},
    ]
    code, _ = await fetch(jp_fetch, "parameters", params={"path": "../job.ipynb"})
    assert code == 403


async def test_a_second_parameters_cell_is_refused_naming_both_cells(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "two.ipynb", [("parameters", "alpha = 1.0"), "x = alpha",
                                               ("parameters", "alpha = 0.5")])
    for code, data in (await fetch(jp_fetch, "parameters", params={"path": "two.ipynb"}),
                       await fetch(jp_fetch, "runs", method="POST",
                                   body={"path": "two.ipynb", "parameters": {"alpha": 2}})):
        assert code == 422, data
        assert data["cell"]["number"] == 3 and data["other_cell"]["number"] == 1, data
        assert "two cells are tagged `parameters`" in data["message"]
