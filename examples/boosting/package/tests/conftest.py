"""Fixtures of the generated tests (written by jupyter-mlops)."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "mlops-manifest.json").read_text(encoding="utf-8"))
RECORDING = ROOT / "tests" / "fixtures" / "recording.json"


@pytest.fixture(scope="session", name="recording")
def fixture_recording() -> dict:
    """The sample recorded from a real execution of the notebook."""
    if not RECORDING.exists():
        pytest.skip("no recording: productionize ran with --no-execute")
    return json.loads(RECORDING.read_text(encoding="utf-8"))


@pytest.fixture(scope="session", name="trained")
def fixture_trained(tmp_path_factory) -> tuple:
    """Train once as the package's ``train`` module does, from the notebook's folder."""
    from boosting import train  # pylint: disable=import-outside-toplevel

    data_dir = (ROOT / MANIFEST["notebook_dir"]).resolve()
    if not data_dir.is_dir():
        pytest.skip(f"the notebook's folder {MANIFEST['notebook_dir']} (its data) is not here")
    model_dir = tmp_path_factory.mktemp("model")
    previous = os.getcwd()
    os.chdir(data_dir)
    try:
        metrics = train.main(["--model-dir", str(model_dir)])
    finally:
        os.chdir(previous)
    return model_dir, metrics


@pytest.fixture(name="scorer")
def fixture_scorer(trained, monkeypatch):
    """The score module with the trained model loaded through $MODEL_DIR."""
    from boosting import score  # pylint: disable=import-outside-toplevel

    monkeypatch.setenv("MODEL_DIR", str(trained[0]))
    score.init()
    return score
