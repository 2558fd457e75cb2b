"""``POST pipeline`` (Export Kubeflow Pipeline) against a real Jupyter server."""

import asyncio
import inspect
import shutil
from pathlib import Path

import pytest
import yaml
from kfp import components

from jupyter_mlops.server import pipeline_handlers

from ..conftest import write_notebook
from .test_handlers import fetch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn"


async def _finished(jp_fetch, task: str) -> dict:
    for _ in range(600):
        code, data = await fetch(jp_fetch, "tasks", task)
        assert code == 200
        if data["status"] != "running":
            return data
        await asyncio.sleep(0.1)
    raise AssertionError("the pipeline task did not finish")


def test_every_pipeline_verb_is_authenticated_and_authorized():
    for _, handler in pipeline_handlers.ROUTES:
        for verb in ("get", "put", "post", "delete", "patch"):
            method = handler.__dict__.get(verb)
            if method is not None:
                source = inspect.getsource(method)
                assert "@tornado.web.authenticated" in source and "@authorized" in source


async def test_export_writes_the_yaml_beside_the_notebook(jp_fetch, jp_root_dir):
    shutil.copytree(EXAMPLE, jp_root_dir / "churn", ignore=shutil.ignore_patterns(".mlops"))
    code, started = await fetch(jp_fetch, "pipeline", method="POST",
                                body={"path": "churn/churn.ipynb", "out": "churn/package"})
    assert code == 202
    task = await _finished(jp_fetch, started["task"])
    assert task["status"] == "done", task
    result = task["result"]
    assert result["yaml"] == "churn/churn.pipeline.yaml"  # relative to the root, beside it
    assert result["steps"] == ["load_data", "featurize", "train", "evaluate", "gate"]
    assert str(jp_root_dir) not in str(result)
    written = jp_root_dir / "churn" / "churn.pipeline.yaml"
    assert components.load_component_from_file(str(written)).name == "churn"
    assert "gate" in yaml.safe_load(written.read_text())["root"]["dag"]["tasks"]


@pytest.mark.parametrize("body, status, says", [
    ({"path": "../x.ipynb"}, 403, "outside the server root"),
    ({"path": "missing.ipynb"}, 404, ""),
    ({"path": "nb.ipynb", "parameters": {"C": "abc"}}, 400, "parameter `C` expects a float"),
    ({"path": "nb.ipynb", "parameters": {"nope": "1"}}, 400, "parameter `nope` is not in"),
    ({"path": "nb.ipynb", "kfp": "out.txt"}, 400, "must end in .yaml"),
    ({"path": "nb.ipynb", "surprise": 1}, 400, "surprise"),
])
async def test_bad_requests_are_refused_before_any_task(jp_fetch, jp_root_dir, body, status,
                                                        says):
    write_notebook(jp_root_dir / "nb.ipynb", [("parameters", "C = 1.0"),
                                              ("training", "model = C * 2")])
    code, data = await fetch(jp_fetch, "pipeline", method="POST", body=body)
    assert code == status and says in data["message"]


async def test_a_bad_cell_fails_the_task_naming_the_cell(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "broken.ipynb", [
        ("parameters", "C = 1.0"), ("data", "rows = [1, 2, 3"), ("training", "model = C")])
    code, started = await fetch(jp_fetch, "pipeline", method="POST",
                                body={"path": "broken.ipynb"})
    assert code == 202
    task = await _finished(jp_fetch, started["task"])
    assert task["status"] == "failed"
    assert task["error"]["cell"] == {"number": 2, "id": "c2"}
    assert not (jp_root_dir / "broken.pipeline.yaml").exists()
