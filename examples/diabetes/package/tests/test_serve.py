"""The scoring server answers, refuses bad input with a JSON 4xx, and keeps going."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn

from diabetes import serve


@pytest.fixture(scope="module", name="served")
def fixture_served(trained, tmp_path_factory):
    """One server for this module's tests (each request finds it still going after the ones
    before), on a free port of 127.0.0.1, logging to a temporary file; stopped after them."""
    log = tmp_path_factory.mktemp("serve") / "requests.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", str(trained[0]))
        app = serve.create_app("test", serve.RequestLog(log), 100_000)
        sock = serve.bound_socket("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", log
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(name="url")
def fixture_url(served) -> str:
    """The server's address."""
    return served[0]


def _call(url: str, path: str, body=None, method: str = "POST") -> tuple:
    request = urllib.request.Request(url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_health_and_contract(url):
    assert _call(url, "/health", method="GET")[1]["status"] == "ok"
    status, document = _call(url, "/openapi.json", method="GET")
    assert status == 200 and "/score" in document["paths"]


def test_bad_input_is_a_json_4xx(url):
    assert _call(url, "/score", b"{not json")[0] == 400
    assert _call(url, "/score", b"[]")[0] == 400
    assert _call(url, "/score", b"[" * 5000 + b"]" * 5000)[0] == 400
    assert _call(url, "/score", b"[" + b"9" * 5000 + b"]")[0] == 400
    assert _call(url, "/score", b"x" * 200_000)[0] == 413
    assert _call(url, "/score", method="GET")[0] == 405
    assert _call(url, "/nowhere", method="GET")[0] == 404


def test_scores_the_recorded_sample_and_logs_it(served, recording):
    url, log = served
    status, body = _call(url, "/score", json.dumps(recording["records"]).encode("utf-8"))
    assert status == 200, body
    assert len(body["predictions"]) == len(recording["records"])
    logged = json.loads(log.read_text().splitlines()[-1])
    assert logged["model_version"] == "test" and logged["predictions"] == body["predictions"]
