"""The Models panel's routes and "Open executed notebook" against a real Jupyter server, over
a real run of a small notebook and a registry holding two versions of its model."""

import inspect
import json
import shutil

import pytest

from jupyter_mlops.jobs.run import run_job
from jupyter_mlops.registry.store import Registry
from jupyter_mlops.server import registry_handlers
from jupyter_mlops.store import RunStore

from ..conftest import write_notebook
from ..jobs.conftest import BODY, PARAMS
from .test_handlers import fetch

pytestmark = pytest.mark.slow


@pytest.fixture
def registered(jp_root_dir, monkeypatch):
    """A run of job.ipynb in the root's store, and its model registered twice."""
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    monkeypatch.setenv("JUPYTER_MLOPS_ACTOR", "tester")
    (jp_root_dir / "data.csv").write_text("a,b\n1,2\n3,4\n")
    write_notebook(jp_root_dir / "job.ipynb", [PARAMS, *BODY])
    store = RunStore(jp_root_dir / ".mlops")
    run = run_job(jp_root_dir / "job.ipynb", {"epochs": 2}, home=store.home).run
    registry = Registry(store)
    for _ in range(2):
        staged = jp_root_dir / "staged"
        staged.mkdir()
        (staged / "lineage.json").write_text("{}")
        registry.add("job", run.id, staged, {
            "package": "job", "notebook": str(jp_root_dir / "job.ipynb"),
            "notebook_sha256": run.notebook_sha256, "parameters": run.parameters,
            "metrics": run.metrics, "inputs": run.record.get("inputs", []),
            "git": {"commit": "abc123", "dirty": False}})
    return run, registry


def test_the_new_routes_are_authenticated_and_authorized():
    for _, handler in registry_handlers.ROUTES:
        for verb in ("get", "put", "post", "delete", "patch"):
            method = handler.__dict__.get(verb)
            if method is not None:
                source = inspect.getsource(method)
                assert "@tornado.web.authenticated" in source and "@authorized" in source


async def test_models_list_versions_lineage_and_the_gate(jp_fetch, jp_root_dir, registered):
    run, registry = registered
    code, data = await fetch(jp_fetch, "models")
    assert code == 200, data
    [model] = data["models"]
    assert [v["version"] for v in model["versions"]] == [2, 1]
    lineage = model["versions"][0]["lineage"]
    assert lineage["run"] == run.id and lineage["notebook"] == "job.ipynb"
    assert lineage["commit"] == "abc123"
    assert [i["path"] for i in lineage["inputs"]] == ["data.csv"]
    assert model["versions"][0]["metrics"] == {"loss": 4.0}
    assert str(jp_root_dir) not in json.dumps(data)
    # never validated: the gate refuses, and says how to get through
    code, refused = await fetch(jp_fetch, "models", "job", "2", "promote", method="POST",
                                body={"stage": "production"})
    assert code == 409 and "never validated" in refused["message"], refused
    code, refused = await fetch(jp_fetch, "models", "job", "2", "promote", method="POST",
                                body={"stage": "production", "force": True})
    assert code == 400 and "reason" in refused["message"]
    code, refused = await fetch(jp_fetch, "models", "job", "2", "promote", method="POST",
                                body={"stage": "heaven"})
    assert code == 400
    # a passed validation (as `validate` records it) opens the gate
    registry.record_event("job", 2, "validated", details={"passed": True, "metrics": [],
                                                          "problems": [], "notes": []})
    code, moved = await fetch(jp_fetch, "models", "job", "2", "promote", method="POST",
                              body={"stage": "production"})
    assert code == 200 and moved["stage"] == "production", moved
    newest = moved["model"]["versions"][0]
    assert newest["stage"] == "production" and newest["validation"]["passed"] is True
    assert [e["action"] for e in moved["model"]["history"]][:2] == ["promoted", "validated"]
    assert moved["model"]["history"][0]["actor"] == "tester"
    code, _ = await fetch(jp_fetch, "models", "nope", "1", "promote", method="POST",
                          body={"stage": "staging"})
    assert code == 400


async def test_the_executed_notebook_opens_though_it_is_in_a_hidden_folder(
        jp_fetch, jp_root_dir, registered):
    run, _ = registered
    code, data = await fetch(jp_fetch, "runs", run.id, "executed")
    assert code == 200 and data["name"] == "job.ipynb", data
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in data["content"]["cells"]]
    assert any("epochs = 2" in s for s in sources)  # papermill's injected parameters
    # Jupyter's own contents API refuses the hidden store: the reason for this route
    code, _ = await fetch(jp_fetch, "runs", "no-such-run", "executed")
    assert code == 404
    shutil.rmtree(jp_root_dir / ".mlops" / "runs" / run.id)
    code, gone = await fetch(jp_fetch, "runs", run.id, "executed")
    assert code == 404 and "no executed notebook" in gone["message"]
