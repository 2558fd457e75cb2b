"""The generated score.py runs unchanged under Azure ML's own local inference server
(``azmlinfsrv --entry_script churn/score.py``), the local twin of an Azure ML deployment."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from jupyter_mlops.registry import serving

from .conftest import trained_package

pytestmark = pytest.mark.slow


def test_azure_inference_server_scores_the_recorded_sample(tmp_path):
    # Azure ML mounts a registered model as AZUREML_MODEL_DIR/<name>/<version>/
    model_dir = tmp_path / "azureml-models"
    package = trained_package(tmp_path, model_dir / "churn" / "1")
    recording = json.loads((package / "tests" / "fixtures" / "recording.json").read_text())
    port = serving.free_port()
    server = Path(sys.executable).parent / "azmlinfsrv"
    assert server.exists(), "pip install jupyter-mlops[azureml] installs azmlinfsrv"
    env = {**serving.server_env(serving.resolve(None, str(package)), model_dir),
           "AZUREML_MODEL_DIR": str(model_dir)}
    env.pop("MODEL_DIR")
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([str(server), "--entry_script", "churn/score.py", "--port",
                                 str(port)], cwd=package, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            serving.wait_for_health_at(url + "/", proc, "azmlinfsrv", 120, log)
            status, answer = serving.post_json(url + "/score",
                                               json.dumps(recording["records"]).encode())
            _, refused = serving.post_json(url + "/score", b"{not json")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    assert status == 200, text[-2000:]
    assert answer == {"predictions": recording["predictions"]}
    assert "not valid JSON" in refused["error"]  # score.py's own message, no traceback
    assert "Users's init has completed successfully" in text
