"""The API under hostile input, against a real Jupyter server: every bad request is a JSON 4xx
with a sentence, never a traceback, never a server path; nothing starts before validation;
outputs stay strictly inside the root."""

import asyncio
import json
import time

import pytest
import tornado.httpclient

from ..conftest import MESSY, write_notebook
from ..store.test_db import damage

LONG = "n" * 300


async def raw(jp_fetch, *path, method="GET", body=None, params=None):
    """(status, parsed JSON body, raw text) of a request sent as given."""
    try:
        response = await jp_fetch("mlops", "api", *path, method=method, params=params,
                                  body=body, raise_error=False)
    except tornado.httpclient.HTTPClientError as exc:
        response = exc.response
    text = response.body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    return response.code, data, text


@pytest.fixture
def root(jp_root_dir):
    write_notebook(jp_root_dir / "work" / "analysis.ipynb", MESSY)
    write_notebook(jp_root_dir / "job.ipynb", [("parameters", "epochs = 3"), "x = epochs"])
    (jp_root_dir / "afile.txt").write_text("a file, not a folder")
    return jp_root_dir


def assert_clean_4xx(code, data, text, root, expected=None):
    """A JSON 4xx with a message, no traceback, no absolute server path."""
    assert 400 <= code < 500 and (expected is None or code == expected), (code, text)
    assert isinstance(data, dict) and data.get("message"), text
    assert "Traceback" not in text and "Unhandled error" not in text
    assert str(root) not in text, text


HOSTILE = [
    # (method, route, query, body, expected status)
    ("GET", "roles", {"path": "job.ipynb/x.ipynb"}, None, 404),
    ("GET", "roles", {"path": "afile.txt/x.ipynb"}, None, 404),
    ("GET", "roles", {"path": f"{LONG}.ipynb"}, None, 400),
    ("GET", "roles", {"path": "a\0b.ipynb"}, None, 404),  # tornado makes a NUL a space
    ("GET", "roles", {}, None, 400),
    ("GET", "suggest", {"path": f"work/{LONG}/x.ipynb"}, None, 400),
    ("GET", "parameters", {"path": "afile.txt"}, None, 422),
    ("PUT", "roles", None, '{"path": "job.ipynb\\u0000", "cell": "1", "role": "setup"}', 400),
    ("PUT", "roles", None, '{"path": "job.ipynb", "cell": "1", "role": "setup\\u0000"}', 422),
    ("PUT", "roles", None, "{oops", 400),
    ("PUT", "roles", None, "[]", 400),
    ("POST", "runs", None, '{"path": "work/missing.ipynb"}', 404),
    ("POST", "runs", None, '{"path": "job.ipynb/x.ipynb"}', 404),
    ("POST", "runs", None, f'{{"path": "{LONG}.ipynb"}}', 400),
    ("POST", "runs", None, '{"path": "../../etc/passwd"}', 403),
    ("POST", "runs", None, '{"path": "/etc/passwd"}', 403),
    ("POST", "runs", None, '{"path": "job.ipynb", "parameters": {"epochs": "a\\u0000"}}', 400),
    ("POST", "runs", None, '{"path": "job.ipynb", "parameters": {"x = 1; import os": 1}}', 400),
    ("POST", "runs", None, '{"path": "job.ipynb", "parameters": {"epochs": "ten"}}', 400),
    ("POST", "runs", None, '{"path": "job.ipynb", "extra": 1}', 400),
    ("POST", "runs", None, '{"path": "afile.txt"}', 422),
    ("POST", "productionize", None, '{"path": "work/analysis.ipynb", "out": ".", '
                                    '"force": true}', 403),
    ("POST", "productionize", None, '{"path": "work/analysis.ipynb", "out": "work", '
                                    '"force": true}', 403),
    ("POST", "productionize", None, '{"path": "work/analysis.ipynb", "out": "../outside"}',
     403),
    ("POST", "productionize", None, '{"path": "work/analysis.ipynb", "out": "afile.txt/o"}',
     409),
    ("POST", "productionize", None, f'{{"path": "work/analysis.ipynb", "out": "{LONG}"}}', 400),
    ("POST", "productionize", None, '{"path": "work/analysis.ipynb\\u0000"}', 400),
    ("POST", "productionize", None, '{"path": "nb.ipynb/x.ipynb"}', 404),
    ("GET", "runs/no-such-run", None, None, 404),
    ("DELETE", "runs/no-such-run", None, None, 404),
    ("GET", "tasks/nope", None, None, 404),
]


@pytest.mark.parametrize("method, route, query, body, status", HOSTILE)
async def test_hostile_requests_get_a_clean_json_4xx(jp_fetch, root, method, route, query,
                                                     body, status):
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    code, data, text = await raw(jp_fetch, *route.split("/"), method=method, params=query,
                                 body=body)
    assert_clean_4xx(code, data, text, root, status)
    after = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                   if not p.relative_to(root).as_posix().startswith(".mlops"))
    assert after == before  # nothing was written, not even a staging folder
    assert not list((root / ".mlops" / "runs").glob("*")) if (root / ".mlops").exists() \
        else True  # no run was recorded


async def test_bad_runs_start_no_process_and_do_not_stall_the_list(jp_fetch, root):
    """Validation is in the server process: twelve bad requests cost milliseconds, not a
    child process each, and GET runs answers meanwhile."""
    started = time.monotonic()
    bad = [raw(jp_fetch, "runs", method="POST", body=json.dumps(
        {"path": "job.ipynb", "parameters": {"epochs": f"ten{n}"}})) for n in range(12)]
    answers = await asyncio.gather(*bad, raw(jp_fetch, "runs"))
    assert [a[0] for a in answers[:-1]] == [400] * 12
    assert answers[-1][0] == 200 and answers[-1][1] == {"runs": []}
    assert time.monotonic() - started < 10


async def test_the_root_is_never_replaced(jp_fetch, root):
    code, _, text = await raw(jp_fetch, "productionize", method="POST", body=json.dumps(
        {"path": "work/analysis.ipynb", "out": "./", "force": True, "execute": False}))
    assert code == 403, text
    code, _, text = await raw(jp_fetch, "productionize", method="POST", body=json.dumps(
        {"path": "work/analysis.ipynb", "out": "work/..", "force": True, "execute": False}))
    assert code == 403, text
    assert (root / "afile.txt").read_text() == "a file, not a folder"
    assert not [p for p in root.parent.iterdir() if p.name.startswith(f".{root.name}.")]


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
async def test_a_damaged_store_is_a_json_error_naming_it(jp_fetch, root, how):
    from jupyter_mlops.store import RunStore  # pylint: disable=import-outside-toplevel

    store = RunStore(root / ".mlops")
    for _ in range(40):
        store.create_run("job.ipynb", "sha", {"x": "y" * 200})
    damage(store.path, how)
    for method, route, body in (("GET", "runs", None), ("GET", "runs/2026", None),
                                ("POST", "runs", '{"path": "job.ipynb"}')):
        code, data, text = await raw(jp_fetch, *route.split("/"), method=method, body=body)
        assert code == 503 and data["error"] == "StoreError", text
        assert ".mlops/mlops.db" in data["message"] and str(root) not in text
        assert "Traceback" not in text
