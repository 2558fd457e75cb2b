"""With the MLflow backend, registering and promoting reach MLflow's model registry (a real
``mlflow server`` on 127.0.0.1), and the local registry keeps the record of it."""

import pytest

from jupyter_mlops.registry.store import Registry
from jupyter_mlops.store import RunStore

from .conftest import cli

pytestmark = pytest.mark.slow


def test_register_and_promote_are_mirrored_to_mlflow(churn_project, mlflow_server, monkeypatch):
    from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel

    monkeypatch.chdir(churn_project)
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    monkeypatch.setenv("JUPYTER_MLOPS_TRACKING", f"mlflow://127.0.0.1:{mlflow_server}")
    assert cli("run", "churn.ipynb", "-p", "sample_fraction", "0.5") == 0
    assert cli("register", "latest", "--name", "churn") == 0
    assert cli("validate", "churn", "1") == 0
    assert cli("promote", "churn", "1", "production") == 0

    store = RunStore(churn_project / ".mlops")
    local = Registry(store).get("churn", 1)
    client = MlflowClient(tracking_uri=f"http://127.0.0.1:{mlflow_server}")
    remote = client.get_model_version_by_alias("churn", "production")
    assert remote.version == "1"
    assert remote.tags["mlops.run_id"] == local.run_id
    assert remote.tags["mlops.notebook_sha256"] == local.record["notebook_sha256"]
    assert remote.run_id == store.get(local.run_id).record["mlflow"]["run_id"]
    model_files = {a.path for a in client.list_artifacts(remote.run_id, "model")}
    assert "model/model.pkl" in model_files

    mirrored = [e["details"] for e in Registry(store).events("churn") if e["action"] == "mirrored"]
    assert [m.get("alias") for m in mirrored] == [None, "production"]
    assert all(m["model_version"] == "1" and "error" not in m for m in mirrored)
