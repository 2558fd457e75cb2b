"""The HTTP server around score.py answers, refuses bad input with 400/413, and keeps going."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from boosting import serve


@pytest.fixture(name="url")
def fixture_url(trained, monkeypatch):
    """A server on a free port of 127.0.0.1, stopped after the test."""
    monkeypatch.setenv("MODEL_DIR", str(trained[0]))
    server = serve.make_server("127.0.0.1", 0, max_bytes=100_000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _post(url: str, body: bytes) -> tuple:
    request = urllib.request.Request(url + "/score", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_health(url):
    with urllib.request.urlopen(url + "/health", timeout=30) as answer:
        assert answer.status == 200 and json.loads(answer.read())["status"] == "ok"


def test_bad_input_is_a_400_and_too_large_a_413(url):
    assert _post(url, b"{not json")[0] == 400
    assert _post(url, b"[]")[0] == 400
    assert _post(url, b"x" * 200_000)[0] == 413


def test_scores_the_recorded_sample(url, recording):
    status, body = _post(url, json.dumps(recording["records"]).encode("utf-8"))
    assert status == 200, body
    assert len(body["predictions"]) == len(recording["records"])
