"""``convert --to onnx`` on the bundled examples' models: the churn pipeline (registered, with
the promotion gate) and the diabetes tree ensemble (a package folder), served through
onnxruntime with the scikit-learn model's predictions; a custom function transformer is
refused naming its step."""

import json
import shutil
from pathlib import Path

import pytest

from jupyter_mlops.productionize import productionize
from jupyter_mlops.registry import serving
from jupyter_mlops.registry.parity import ONNX_FILE, PARITY_FILE
from jupyter_mlops.registry.store import Registry

from .conftest import cli

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
CUSTOM = HERE.parent / "notebooks" / "convert" / \
    "pipeline_with_custom_function_transformer_cannot_be_converted.ipynb"


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def converted(registered):
    """churn:1 converted once (the registered fixture's working directory is the project)."""
    mp = pytest.MonkeyPatch()
    mp.chdir(registered.home.parent)
    mp.setenv("JUPYTER_MLOPS_ACTOR", "tester")
    try:
        assert cli("convert", "churn:1", "--to", "onnx", "--quantize") == 0
        yield Registry(registered).get("churn", 1)
    finally:
        mp.undo()


@pytest.fixture
def in_project(registered, monkeypatch):
    monkeypatch.chdir(registered.home.parent)
    monkeypatch.setenv("JUPYTER_MLOPS_ACTOR", "tester")
    return registered.home.parent


def _served(target, records: list) -> tuple[dict, list]:
    """/health and the predictions of the target's server for ``records``."""
    with serving.running_server(target, target.model_dir) as url:
        with serving.urllib.request.urlopen(url + "/health", timeout=30) as answer:
            health = json.loads(answer.read())
        status, scored = serving.post_json(url + "/score", json.dumps(records).encode())
    assert status == 200, scored
    return health, scored["predictions"]


def test_the_churn_pipeline_converts_with_full_agreement(converted, in_project, capsys):
    model_dir = converted.path / "model"
    parity = json.loads((model_dir / PARITY_FILE).read_text())
    assert (model_dir / ONNX_FILE).is_file() and parity["passed"]
    assert parity["steps"] == ["StandardScaler", "LogisticRegression"]
    rows = {(c["check"], c["data"]): c for c in parity["checks"]}
    assert rows[("label agreement", "sample")]["value"] == 1.0
    assert rows[("label agreement", "evaluation")]["value"] == 1.0
    assert rows[("max probability difference", "evaluation")]["value"] < 1e-5
    for metric in ("accuracy", "f1", "roc_auc"):
        row = rows[(metric, "evaluation")]
        assert row["sklearn"] == pytest.approx(converted.record["metrics"][metric], abs=0.05)
        assert row["onnx"] == pytest.approx(row["sklearn"], abs=1e-6)
    assert parity["quantization"]["applied"] is False
    assert "not applicable" in parity["quantization"]["reason"]
    assert parity["bytes"]["onnx"] > 0 and parity["latency_ms"]["onnx"] > 0
    events = [e for e in Registry(converted_store(in_project)).events("churn")
              if e["action"] == "converted"]
    assert events[-1]["details"]["passed"] is True


def converted_store(project: Path):
    from jupyter_mlops.store import RunStore  # pylint: disable=import-outside-toplevel

    return RunStore(project / ".mlops")


def test_served_through_onnxruntime_it_predicts_what_the_sklearn_model_does(converted,
                                                                          in_project):
    target = serving.resolve(None, "churn:1", "onnx")
    records = json.loads((target.package_dir / "tests" / "fixtures" /
                          "recording.json").read_text())["records"]
    health, predictions = _served(target, records)
    assert health["runtime"] == "onnx"
    assert predictions == converted.record["expected_predictions"]
    assert cli("smoke", "churn:1", "--runtime", "onnx") == 0


def test_validate_and_models_show_report_the_parity(converted, in_project, capsys):
    assert cli("validate", "churn", "1", "--json") == 0
    assert _json(capsys)["parity"]["passed"] is True
    assert cli("models", "show", "churn:1") == 0
    assert "ONNX parity PASSED" in capsys.readouterr().out


def test_promotion_with_the_onnx_runtime_is_gated_on_parity(converted, in_project, capsys):
    assert cli("validate", "churn", "2") == 0
    capsys.readouterr()
    assert cli("promote", "churn", "2", "staging", "--runtime", "onnx") == 2
    assert "has no ONNX model" in capsys.readouterr().err
    # a tolerance the float32 runtime cannot meet, from the project's pyproject.toml
    pyproject = in_project / "pyproject.toml"
    pyproject.write_text("[tool.jupyter-mlops.convert]\nmax_probability_difference = 0.0\n")
    try:
        assert cli("convert", "churn:2", "--to", "onnx") == 1
        assert "FAIL" in capsys.readouterr().out
        assert cli("promote", "churn", "2", "staging", "--runtime", "onnx") == 1
        assert "failed its parity check" in capsys.readouterr().err
        assert cli("smoke", "churn:2", "--runtime", "onnx") == 1
    finally:
        pyproject.unlink()
    assert cli("convert", "churn:2", "--to", "onnx") == 0
    capsys.readouterr()
    assert cli("promote", "churn", "2", "staging", "--runtime", "onnx", "--json") == 0
    assert _json(capsys)["runtime"] == "onnx"
    promoted = Registry(converted_store(in_project)).events("churn")[-1]
    assert promoted["action"] == "promoted" and promoted["details"]["runtime"] == "onnx"
    assert promoted["details"]["parity"]["passed"] is True
    # test_lifecycle, next on this worker, finds churn:2 where registration left it
    assert cli("promote", "churn", "2", "none") == 0


def test_a_replaced_model_onnx_is_not_served_under_its_old_parity(converted, in_project,
                                                                 capsys):
    model = converted.path / "model" / ONNX_FILE
    kept = model.read_bytes()
    model.write_bytes(kept + b"\0")
    try:
        assert cli("smoke", "churn:1", "--runtime", "onnx") == 1
        assert "changed since its parity was measured" in capsys.readouterr().err
    finally:
        model.write_bytes(kept)


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> Path:
    """The committed diabetes package with a model trained into its outputs/."""
    package = tmp_path_factory.mktemp("diabetes") / "package"
    shutil.copytree(EXAMPLES / "diabetes" / "package", package)
    serving.ensure_model(serving.resolve(None, str(package)), package / "outputs")
    return package


def test_the_diabetes_tree_ensemble_serves_within_float32_rounding(diabetes, capsys):
    assert cli("convert", str(diabetes), "--to", "onnx", "--json") == 0
    parity = _json(capsys)
    assert parity["steps"] == ["GradientBoostingRegressor"]
    assert parity["operators"] == ["TreeEnsembleRegressor"]
    rows = {(c["check"], c["data"]): c for c in parity["checks"]}
    assert rows[("max relative difference", "evaluation")]["value"] < 1e-5
    assert rows[("r2", "evaluation")]["value"] < 1e-5
    target = serving.resolve(None, str(diabetes), "onnx")
    recording = json.loads((diabetes / "tests" / "fixtures" / "recording.json").read_text())
    health, predictions = _served(target, recording["records"])
    assert health["runtime"] == "onnx"
    assert predictions == pytest.approx(recording["predictions"], rel=1e-5)
    assert predictions != recording["predictions"]  # float32: not the pickled model's floats
    assert cli("smoke", str(diabetes), "--runtime", "onnx") == 0


def test_a_custom_function_transformer_is_refused_naming_the_step(tmp_path, capsys):
    notebook = tmp_path / CUSTOM.name
    shutil.copy(CUSTOM, notebook)
    result = productionize(notebook, tmp_path / "package", checks=False)
    assert result.ok
    target = serving.resolve(None, str(tmp_path / "package"))
    serving.ensure_model(target, tmp_path / "package" / "outputs")
    capsys.readouterr()
    assert cli("convert", str(tmp_path / "package"), "--to", "onnx", "--json") == 2
    error = _json(capsys)
    assert error["error"] == "ConversionError" and error["step"] == "model step 'log'"
    assert "custom function log_sizes()" in error["message"]
    assert not (tmp_path / "package" / "outputs" / ONNX_FILE).exists()


def test_a_native_lightgbm_booster_is_refused_naming_its_class(tmp_path, capsys):
    package = tmp_path / "package"
    shutil.copytree(EXAMPLES / "boosting" / "package", package)
    serving.ensure_model(serving.resolve(None, str(package)), package / "outputs")
    capsys.readouterr()
    # its load_data gives arrays, not a table: compared on the sample, refused there
    assert cli("convert", str(package), "--to", "onnx") == 2
    assert "lightgbm.basic.Booster, which skl2onnx has no converter for" in \
        capsys.readouterr().err
