"""Optional team backend: mirror each finished run to an MLflow tracking server.

``--tracking mlflow://HOST:PORT`` (or ``JUPYTER_MLOPS_TRACKING``); ``mlflow+https://...`` for
TLS. Parameters, metrics, the executed notebook and artifacts go to MLflow, lineage as tags.
The embedded store stays the record of truth: a mirroring failure is noted, never fatal.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..store import Run

TRACKING_ENV = "JUPYTER_MLOPS_TRACKING"
_STATUS = {"succeeded": "FINISHED", "failed": "FAILED", "cancelled": "KILLED"}


def tracking_uri(value: Optional[str]) -> Optional[str]:
    """The MLflow URI for ``--tracking`` (or the environment), None when not configured."""
    value = value or os.environ.get(TRACKING_ENV)
    if not value:
        return None
    if value.startswith("mlflow://"):
        return "http://" + value[len("mlflow://"):]
    if value.startswith("mlflow+"):
        return value[len("mlflow+"):]
    raise ConfigError(f"--tracking wants mlflow://HOST:PORT or mlflow+https://..., got {value!r}")


def _client(uri: str):
    try:
        from mlflow.tracking import MlflowClient  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ConfigError("MLflow tracking needs MLflow: pip install 'jupyter-mlops[mlflow]'") \
            from None
    return MlflowClient(tracking_uri=uri)


def check_mlflow(uri: str) -> None:
    """Fail early (before any kernel starts) when MLflow is not installed."""
    _client(uri)


def mirror(run: Run, uri: str, run_dir: Path) -> str:
    """Copy one finished run to MLflow; return the MLflow run id."""
    from mlflow.entities import Metric, Param, RunTag  # pylint: disable=import-outside-toplevel

    client = _client(uri)
    name = Path(run.notebook).stem
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
    record = run.record
    git = record.get("git") or {}
    tags = {
        "mlops.run_id": run.id, "mlops.notebook": run.notebook,
        "mlops.notebook_sha256": run.notebook_sha256 or "",
        "mlops.git_commit": git.get("commit") or "", "mlops.git_dirty": str(git.get("dirty")),
        "mlops.python": (record.get("environment") or {}).get("python", ""),
        "mlops.status": run.status, "mlops.sweep_id": run.sweep_id or "",
        "mlflow.source.git.commit": git.get("commit") or "",
    }
    for number, item in enumerate(record.get("inputs", []), start=1):
        tags[f"mlops.input.{number}"] = f"{item['path']} sha256:{item.get('sha256')}"
    started = int((run.started or run.created) * 1000)
    created = client.create_run(experiment_id, start_time=started, run_name=run.id,
                                tags=tags)
    mlflow_id = created.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        mlflow_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in run.metrics.items()],
        params=[Param(k, str(v)[:6000]) for k, v in run.parameters.items()],
        tags=[RunTag(k, str(v)[:5000]) for k, v in tags.items()],
    )
    executed = run_dir / "executed.ipynb"
    if executed.exists():
        client.log_artifact(mlflow_id, str(executed))
    if (run_dir / "artifacts").is_dir():
        client.log_artifacts(mlflow_id, str(run_dir / "artifacts"), artifact_path="artifacts")
    client.set_terminated(mlflow_id, status=_STATUS.get(run.status, "FAILED"),
                          end_time=int((run.ended or time.time()) * 1000))
    return mlflow_id


def set_stage_alias(uri: str, name: str, mlflow_version: str, stage: str) -> None:
    """Mirror a promotion: MLflow's alias ``stage`` (aliases replace its deprecated stages)
    now points at this model version; an alias names one version, so the previous holder
    loses it, as it is archived here."""
    _client(uri).set_registered_model_alias(name, stage, mlflow_version)


def register_model(uri: str, mlflow_run_id: str, version) -> str:
    """Upload a registered version's model to its MLflow run and create a model version in
    MLflow's registry under the same name; return MLflow's version number."""
    client = _client(uri)
    client.log_artifacts(mlflow_run_id, str(version.path / "model"), artifact_path="model")
    try:
        client.create_registered_model(version.name)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # exists already
        if "RESOURCE_ALREADY_EXISTS" not in str(exc) and "already exists" not in str(exc):
            raise
    source = client.get_run(mlflow_run_id).info.artifact_uri.rstrip("/") + "/model"
    created = client.create_model_version(
        version.name, source, run_id=mlflow_run_id,
        tags={"mlops.version": str(version.version), "mlops.run_id": version.run_id,
              "mlops.notebook_sha256": version.record.get("notebook_sha256") or ""})
    return str(created.version)
