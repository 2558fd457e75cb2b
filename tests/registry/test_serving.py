"""The generated scoring server survives 1,000 bad requests in a row and still answers right;
the generated CI workflow runs locally step by step; the package installs from its
requirements.txt into a fresh virtual environment and passes the smoke test there."""

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from jupyter_mlops.registry import ci, serving

from .conftest import EXAMPLE, cli, git, trained_package

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """The committed churn package, copied beside its data, with a trained model."""
    return trained_package(tmp_path_factory.mktemp("serve"))


def test_a_thousand_bad_requests_then_a_good_one(package):
    target = serving.resolve(None, str(package))
    recording = json.loads((package / "tests" / "fixtures" / "recording.json").read_text())
    bad = [("POST", "/score", b"{not json"), ("POST", "/score", b"[]"),
           ("POST", "/score", b'[{"tenure_months": "x"}]'), ("GET", "/nowhere", None),
           ("POST", "/elsewhere", b"{}"), ("POST", "/score", b"\xff\xfe"),
           ("POST", "/score", b"x" * 2_000_000), ("PUT", "/score", b"[]")]
    with serving.running_server(target, target.model_dir) as url:
        port = int(url.rsplit(":", 1)[1])
        codes = {}
        for number in range(1000):
            method, path, body = bad[number % len(bad)]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=body)
                codes.setdefault((method, path, len(body or b"")), set()).add(
                    conn.getresponse().status)
            except (ConnectionError, http.client.HTTPException):
                codes.setdefault((method, path, len(body or b"")), set()).add("closed")
            finally:
                conn.close()
        status, answer = serving.post_json(url + "/score",
                                           json.dumps(recording["records"]).encode())
    assert status == 200 and answer["predictions"] == recording["predictions"]
    assert codes[("POST", "/score", 9)] == {400}
    assert codes[("GET", "/nowhere", 0)] == {404}
    assert codes[("POST", "/score", 2_000_000)] <= {413, "closed"}
    assert all(not (c & {200, 500}) for c in codes.values()), codes


def test_generated_workflow_runs_locally_in_order(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    for name in ("churn.ipynb", "customers.csv"):
        shutil.copy(EXAMPLE / name, root / name)
    (root / ".gitignore").write_text(".mlops/\n")
    monkeypatch.chdir(root)
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    # what `productionize churn.ipynb --out build/churn` writes (test_examples keeps the
    # committed package up to date), so the workflow's own steps find it up to date
    shutil.copytree(EXAMPLE / "package", root / "build" / "churn",
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "outputs"))
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "churn and its package")
    assert cli("ci", "init", "--provider", "github") == 0
    assert cli("ci", "init", "--provider", "azure") == 0
    github = ci.workflow_steps(root / ".github" / "workflows" / "mlops.yml")
    azure = ci.workflow_steps(root / "azure-pipelines.yml")
    assert [s["command"] for s in github] == [s["command"] for s in azure]
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               JUPYTER_MLOPS_ACTOR="ci")
    ran = []
    for step in github:
        if step["name"] == "Install jupyter-mlops":
            continue  # the package under test is installed already (not from PyPI)
        done = subprocess.run(step["command"], shell=True, cwd=root, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, (step, done.stdout[-2000:], done.stderr[-2000:])
        ran.append(step["command"].split()[2] if step["command"].startswith("jupyter")
                   else "pip")
    assert ran == ["pip", "check", "productionize", "pipeline", "run", "run", "register",
                   "validate", "smoke"]
    assert (root / "build" / "churn.pipeline.yaml").is_file()  # the kept build artifact
    sample = json.loads(subprocess.run(["jupyter", "mlops", "runs", "list", "--json"],
                                       cwd=root, env=env, capture_output=True, text=True,
                                       check=True).stdout)
    assert sorted(r["parameters"].get("sample_fraction", 1.0) for r in sample) == [0.3, 1.0]


def test_package_installs_into_a_fresh_venv_and_passes_smoke(package, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    # --no-compile: byte-compiling all of pandas, scipy and scikit-learn was most of the
    # install's time; the few modules serving imports compile as they load
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile"]
    subprocess.run(pip + ["-r", str(package / "requirements.txt")], check=True, timeout=900)
    subprocess.run(pip + ["--no-deps", str(package)], check=True, timeout=300,
                   cwd=tmp_path)
    dockerfile = (package / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert '"-m", "churn.serve"' in dockerfile
    # the venv's interpreter serves the package it installed, not our source tree
    installed = subprocess.run([python, "-c", "import churn, sys; print(churn.__file__)"],
                               capture_output=True, text=True, check=True, cwd=tmp_path)
    assert str(env_dir) in installed.stdout
    target = serving.resolve(None, str(package))
    result = serving.smoke(target, python=python)
    assert result["passed"]


def test_sigterm_stops_serve_and_its_scoring_server(package, tmp_path):
    import signal  # pylint: disable=import-outside-toplevel

    port = serving.free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "serve", str(package),
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TMPDIR=str(scratch)))
    try:
        assert "serving" in proc.stderr.readline()  # announced once listening
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err
    assert not out  # the address line only with --json
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/health")
    assert not list(scratch.glob("mlops-serve-*"))


def test_kill_9_of_serve_takes_its_scoring_server_down(package):
    import signal  # pylint: disable=import-outside-toplevel

    port = serving.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "serve", str(package),
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert "serving" in proc.stderr.readline()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
        conn.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    for _ in range(50):  # PR_SET_PDEATHSIG: the server gets SIGKILL with its parent
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the scoring server still answers after serve was killed")
