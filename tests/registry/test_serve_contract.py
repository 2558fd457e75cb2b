"""The generated ASGI server: hostile bodies get a JSON 4xx and it keeps serving; its OpenAPI
document validates and a client generated from it scores; /docs works offline; requests are
logged (rotated by size) and not logged with --no-log; several workers and SIGTERM."""

import http.client
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from jupyter_mlops.registry import serving

from ..conftest import imported_from
from .conftest import trained_package

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """The committed churn package, copied beside its data, with a trained model."""
    return trained_package(tmp_path_factory.mktemp("contract"))


@pytest.fixture(scope="module")
def served(package, tmp_path_factory):
    """One server for the module, logging to a file of its own: (url, log path)."""
    log = tmp_path_factory.mktemp("log") / "requests.jsonl"
    target = serving.resolve(None, str(package))
    with serving.running_server(target, target.model_dir,
                                options=serving.ServeOptions(log=str(log))) as url:
        yield url, log


def _call(url: str, method: str, path: str, body=None) -> tuple[int, dict]:
    port = int(url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def _records(package: Path) -> list:
    return json.loads((package / "tests" / "fixtures" / "recording.json").read_text())["records"]


def test_hostile_bodies_get_json_4xx_and_the_server_keeps_serving(served, package):
    url, _ = served
    good = _records(package)
    wrong_type = [dict(good[0], tenure_months="seventy")]
    missing = [{k: v for k, v in good[0].items() if k != "contract"}]
    hostile = [
        ("POST", "/score", b"[" * 5000 + b"]" * 5000, 400, None),
        ("POST", "/score", b'[{"tenure_months": 1' + b"0" * 5000 + b"}]", 400, None),
        ("POST", "/score", b"", 400, None),
        ("POST", "/score", b"{not json", 400, None),
        ("POST", "/score", b"[NaN]", 400, None),
        ("POST", "/score", json.dumps(wrong_type).encode(), 400,
         {"record": 1, "column": "tenure_months", "expected": "number", "got": "'seventy'"}),
        ("POST", "/score", json.dumps(missing).encode(), 400,
         {"record": 1, "column": "contract", "expected": "present"}),
        ("POST", "/score", b"x" * 1_100_000, 413, None),
        ("PUT", "/score", b"[]", 405, None),
        ("DELETE", "/score", None, 405, None),
        ("GET", "/score", None, 405, None),
        ("POST", "/health", b"{}", 405, None),
        ("GET", "/nowhere", None, 404, None),
    ]
    for method, path, body, status, detail in hostile:
        got, answer = _call(url, method, path, body)
        assert got == status, (method, path, (body or b"")[:40], answer)
        assert isinstance(answer.get("error"), str) and answer["error"], answer
        if detail is not None:
            assert answer["detail"] == [detail]
    status, answer = _call(url, "POST", "/score", json.dumps(good).encode())
    expected = json.loads((package / "tests" / "fixtures" / "recording.json").read_text())
    assert status == 200 and answer["predictions"] == expected["predictions"]
    assert answer["model_version"] == str(package)


def test_openapi_document_validates_and_matches_schema_json(served, package):
    from openapi_spec_validator import validate  # pylint: disable=import-outside-toplevel

    status, document = _call(served[0], "GET", "/openapi.json")
    assert status == 200
    validate(document)
    schema = json.loads((package / "churn" / "schema.json").read_text())
    record = document["components"]["schemas"]["Record"]
    assert record == schema["record"]
    assert "churn" not in record["properties"]  # the label is not an input
    assert record["properties"]["contract"]["x-training-categories"] == [
        "month-to-month", "one-year", "two-year"]
    assert record["properties"]["tenure_months"]["type"] == ["number", "null"]
    assert "x-training-min" in record["properties"]["monthly_charges"]
    assert "tenure_months" in record["required"] and "customer_id" not in record["required"]
    assert schema["prediction"]["type"] == ["integer", "null"]


def test_docs_page_loads_nothing_from_outside(served):
    port = int(served[0].rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/docs")
    answer = conn.getresponse()
    page = answer.read().decode()
    conn.close()
    assert answer.status == 200 and "text/html" in answer.getheader("content-type")
    assert 'fetch("openapi.json")' in page
    assert "http://" not in page and "https://" not in page  # no CDN: works offline


def test_a_client_generated_from_the_contract_scores(served, package, tmp_path):
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(_call(served[0], "GET", "/openapi.json")[1]))
    subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path",
                    str(document), "--output-path", str(tmp_path / "client")], check=True,
                   capture_output=True, timeout=120)
    with imported_from(tmp_path / "client"):
        # pylint: disable=import-outside-toplevel,import-error
        from churn_scoring_api_client import Client
        from churn_scoring_api_client.api.default import health, score
        from churn_scoring_api_client.models import Record, ScoreResponse

        client = Client(base_url=served[0])
        assert health.sync(client=client).status == "ok"
        answer = score.sync(client=client,
                            body=[Record.from_dict(r) for r in _records(package)])
    assert isinstance(answer, ScoreResponse)
    assert len(answer.predictions) == len(_records(package))


def test_scored_requests_are_logged_with_their_version(served):
    url, log = served
    _call(url, "POST", "/score", b"{not json")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines and all({"time", "model_version", "status"} <= set(e) for e in lines)
    scored = [e for e in lines if e["status"] == 200]
    assert scored and len(scored[-1]["records"]) == len(scored[-1]["predictions"])
    assert lines[-1]["status"] == 400 and "records" not in lines[-1]


def test_the_log_rotates_by_size(package, tmp_path):
    with imported_from(package):
        from churn.serve import RequestLog  # pylint: disable=import-outside-toplevel,import-error

        log = RequestLog(tmp_path / "requests.jsonl", max_bytes=1000, backups=2)
        for number in range(60):
            log.write(json.dumps({"n": number, "pad": "x" * 40}).encode() + b"\n")
        log.close()
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert names == ["requests.jsonl", "requests.jsonl.1", "requests.jsonl.2"]
    assert all(p.stat().st_size <= 1000 for p in tmp_path.iterdir())
    last = json.loads((tmp_path / "requests.jsonl").read_text().splitlines()[-1])
    assert last["n"] == 59


def test_two_workers_answer_200_concurrent_clients_then_stop_on_sigterm(package, tmp_path):
    target = serving.resolve(None, str(package))
    port = serving.free_port()
    argv = serving.serve_argv(target, port, options=serving.ServeOptions(workers=2, log=""),
                              model_dir=target.model_dir)
    proc = subprocess.Popen(argv, cwd=target.notebook_dir, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=serving.server_env(target, target.model_dir))
    body = json.dumps(_records(package)[:1]).encode()
    try:
        assert json.loads(proc.stdout.readline())["workers"] == 2
        serving.wait_for_health(f"http://127.0.0.1:{port}", proc, target.label)
        results = []

        def client():
            results.append(_call(f"http://127.0.0.1:{port}", "POST", "/score", body)[0])

        threads = [threading.Thread(target=client) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert results == [200] * 200
    assert proc.returncode == 0 and "Traceback" not in err
    assert not (package / "outputs" / "requests.jsonl").exists()  # --no-log
