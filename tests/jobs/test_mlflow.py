"""Mirroring runs to a real MLflow tracking server started on 127.0.0.1 by the test."""

import pytest

from jupyter_mlops.jobs.run import run_job

pytestmark = pytest.mark.slow


def test_run_is_mirrored_to_mlflow(project, mlflow_server):
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    outcome = run_job(project / "job.ipynb", {"epochs": "2"},
                      tracking=f"mlflow://127.0.0.1:{mlflow_server}")
    mirrored = outcome.run.record["mlflow"]
    assert "error" not in mirrored, mirrored
    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{mlflow_server}")
    remote = client.get_run(mirrored["run_id"])
    assert remote.data.params == {"epochs": "2"}
    assert remote.data.metrics == {"loss": pytest.approx(4.0)}
    assert remote.data.tags["mlops.run_id"] == outcome.run.id
    assert len(remote.data.tags["mlops.git_commit"]) == 40
    assert remote.info.status == "FINISHED"
    files = {a.path for a in client.list_artifacts(remote.info.run_id)}
    assert "executed.ipynb" in files and "artifacts" in files


def test_without_mlflow_configured_nothing_needs_a_server(project, monkeypatch):
    monkeypatch.delenv("JUPYTER_MLOPS_TRACKING", raising=False)
    assert "mlflow" not in run_job(project / "job.ipynb").run.record
