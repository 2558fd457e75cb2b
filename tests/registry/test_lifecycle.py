"""register -> validate -> promote -> history -> smoke on a real churn project (real kernel,
real productionize, real training and a real HTTP server on 127.0.0.1)."""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from jupyter_mlops.errors import CheckFailed, ConfigError
from jupyter_mlops.registry import Registry
from jupyter_mlops.registry import serving
from jupyter_mlops.jobs.lineage import sha256_file
from jupyter_mlops.registry.lifecycle import (_built_package, _same_notebook_package, promote,
                                             resolve_run)
from jupyter_mlops.store import RunStore
from jupyter_mlops.registry.validation import validate

from .conftest import EXAMPLE, cli

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _in_project(registered_project, monkeypatch):
    monkeypatch.chdir(registered_project)
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)


def test_a_second_version_of_the_same_notebook_reuses_the_checked_package(registered):
    models = registered.home / "models" / "churn"
    # the same reports, timestamps included: version 2 was not recorded, linted, tested again
    for report in ("reports/tests.xml", "reports/lint.json"):
        assert (models / "2" / "package" / report).read_bytes() == \
            (models / "1" / "package" / report).read_bytes()
    assert (models / "2" / "model" / "model.pkl").read_bytes() != \
        (models / "1" / "model" / "model.pkl").read_bytes()  # trained with C=0.05


def test_registering_lends_the_notebooks_up_to_date_build(registered, registered_project):
    # version 1 was not recorded, linted and tested again: build/churn's reports are its own
    built = registered_project / "build" / "churn" / "reports"
    for report in ("tests.xml", "lint.json"):
        assert (registered.home / "models" / "churn" / "1" / "package" / "reports" / report
                ).read_bytes() == (built / report).read_bytes()


def test_a_build_on_other_data_or_edited_is_not_lent(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("churn.ipynb", "customers.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    shutil.copytree(EXAMPLE / "package", tmp_path / "build" / "churn",
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    data = os.path.realpath(tmp_path / "customers.csv")
    inputs = [{"path": data, "sha256": sha256_file(Path(data))}]
    notebook = tmp_path / "churn.ipynb"
    assert _built_package(notebook, inputs) == Path(os.path.realpath(tmp_path / "build" / "churn"))
    assert _built_package(notebook, [{**inputs[0], "sha256": "b" * 64}]) is None
    assert _built_package(notebook, inputs + [{"path": "/other.csv", "sha256": "c" * 64}]) is None
    with open(tmp_path / "build" / "churn" / "churn" / "train.py", "a", encoding="utf-8") as out:
        out.write("# tuned by hand\n")
    assert _built_package(notebook, inputs) is None


def test_changed_data_or_notebook_gets_a_package_of_its_own(tmp_path):
    registry = Registry(RunStore(tmp_path / ".mlops"))
    staged = tmp_path / "staged"
    (staged / "package").mkdir(parents=True)
    inputs = [{"path": "/data/customers.csv", "sha256": "a" * 64}]
    registry.add("churn", "run1", staged, {"notebook_sha256": "n1", "inputs": inputs})
    lent = registry.get("churn", 1).path / "package"
    assert _same_notebook_package(registry, "n1", list(inputs)) == lent
    assert _same_notebook_package(registry, "n1", [{**inputs[0], "sha256": "b" * 64}]) is None
    assert _same_notebook_package(registry, "n2", inputs) is None


def test_registered_version_carries_its_lineage(registered, capsys):
    assert cli("models", "show", "churn:1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    run = registered.get(shown["run_id"])
    assert shown["stage"] == "production"
    assert shown["notebook_sha256"] == run.notebook_sha256
    assert shown["git"]["commit"] == run.record["git"]["commit"] and not shown["git"]["dirty"]
    assert [i["sha256"] for i in shown["inputs"]] == [i["sha256"] for i in run.record["inputs"]]
    assert shown["environment"]["python"].startswith("3.")
    assert shown["metrics"]["accuracy"] == pytest.approx(run.metrics["accuracy"])
    assert shown["parameters"] == {}
    assert shown["lint_score"] == 10.0 and shown["tests"]["failed"] == 0
    assert shown["profile"]["columns"]["churn"]["label"] is True
    # what monitor compares served traffic with: distributions and the training predictions
    assert len(shown["profile"]["columns"]["tenure_months"]["distribution"]["sketch"]) > 100
    assert shown["profile"]["predictions"]["kind"] == "category"
    package = registered.home / "models" / "churn" / "1"
    assert (package / "model" / "model.pkl").is_file()
    assert (package / "package" / "churn" / "score.py").is_file()
    assert json.loads((package / "lineage.json").read_text())["notebook_sha256"] == \
        run.notebook_sha256
    assert cli("models", "list") == 0
    assert "churn:2" in capsys.readouterr().out


def test_second_version_keeps_its_parameters(registered):
    second = Registry(registered).get("churn", 2)
    assert second.record["parameters"] == {"C": 0.05}
    assert second.stage == "none"


def test_validation_fails_outside_tolerance_and_blocks_promotion(registered, capsys):
    assert cli("validate", "churn", "2", "--tolerance", "f1=-0.0001") == 1
    table = capsys.readouterr().out
    assert "FAILED" in table and "f1" in table and "FAIL" in table
    with pytest.raises(CheckFailed, match="last validation failed"):
        promote(registered, "churn", "2", "production")
    with pytest.raises(ConfigError, match="--reason"):
        promote(registered, "churn", "2", "production", force=True)


def test_tolerances_from_pyproject(registered, registered_project):
    (registered_project / "pyproject.toml").write_text(
        "[tool.jupyter-mlops.validate]\naccuracy = -0.5\nf1 = -0.5\n")
    try:
        verdict = validate(registered, "churn", "2")
    finally:
        (registered_project / "pyproject.toml").unlink()
    assert verdict.passed, verdict.table()
    rows = {r["metric"]: r for r in verdict.metrics}
    assert rows["accuracy"]["tolerance"] == -0.5 and rows["accuracy"]["ok"] is True
    assert rows["roc_auc"]["ok"] is None  # no tolerance: reported, not gated


def test_scoring_input_is_checked_against_the_training_profile(registered, registered_project):
    import pandas as pd  # pylint: disable=import-outside-toplevel

    df = pd.read_csv(registered_project / "customers.csv")
    df = df.drop(columns=["support_calls"]).assign(extra=1)
    df["monthly_charges"] = df["monthly_charges"] * 100
    df["tenure_months"] = 0
    df["senior"] = "yes"
    bad = registered_project / "drifted.csv"
    df.to_csv(bad, index=False)
    verdict = validate(registered, "churn", "2", data=bad)
    found = {(p["column"], p["check"]) for p in verdict.problems}
    assert {("support_calls", "missing column"), ("extra", "extra column"),
            ("monthly_charges", "out of range"), ("tenure_months", "all zero"),
            ("senior", "dtype changed")} <= found
    assert not verdict.passed


def test_forced_promotion_is_audited_and_history_answers(registered, capsys):
    before = Registry(registered).events("churn")[-1]["at"]
    assert cli("promote", "churn", "2", "production", "--force", "--reason",
               "f1 drop accepted by risk") == 0
    versions = {v.version: v.stage for v in Registry(registered).versions("churn")}
    assert versions == {1: "archived", 2: "production"}
    capsys.readouterr()
    assert cli("models", "audit", "churn", "--json") == 0
    events = json.loads(capsys.readouterr().out)["events"]
    forced = events[-1]
    assert forced["action"] == "promoted" and forced["reason"] == "f1 drop accepted by risk"
    assert forced["details"]["forced"] and forced["actor"] == "tester"
    assert [e["action"] for e in events][:3] == ["registered", "validated", "promoted"]
    from datetime import datetime, timezone  # pylint: disable=import-outside-toplevel

    at = datetime.fromtimestamp(before, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert cli("models", "history", "churn", "--at", at, "--json") == 0
    assert json.loads(capsys.readouterr().out)["production"] == 1
    assert cli("models", "history", "churn", "--at", "2999-01-01", "--json") == 0
    assert json.loads(capsys.readouterr().out)["production"] == 2
    assert cli("models", "history", "churn", "--at", "2000-01-01", "--json") == 0
    assert json.loads(capsys.readouterr().out)["production"] is None


def test_smoke_deploys_queries_and_stops(registered, capsys):
    assert cli("smoke", "churn:production", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["passed"] and result["records"] == 20


def test_smoke_fails_when_predictions_differ(registered, tmp_path, capsys):
    import shutil  # pylint: disable=import-outside-toplevel

    source = Registry(registered).get("churn", 1).path
    copy = tmp_path / "package"
    shutil.copytree(source / "package", copy)
    shutil.copytree(source / "model", copy / "outputs")
    fixture = copy / "tests" / "fixtures" / "recording.json"
    recording = json.loads(fixture.read_text())
    recording["predictions"][0] = 1 - recording["predictions"][0]
    fixture.write_text(json.dumps(recording))
    assert cli("smoke", str(copy)) == 1
    assert "record 1: the model predicts" in capsys.readouterr().err


def test_bad_references_are_clear(registered, capsys):
    assert cli("models", "show", "nope") == 2
    assert "no model named 'nope'" in capsys.readouterr().err
    assert cli("validate", "churn", "9") == 2
    assert "no version 9" in capsys.readouterr().err
    assert cli("register", "no-such-run", "--name", "churn") == 2
    assert cli("register", "latest", "--name", "../escape") == 2


def test_latest_follows_the_models_notebook_and_smoke_uses_the_runs_parameters(
        registered, registered_project, capsys, monkeypatch):
    other = registered_project / "other.ipynb"
    shutil.copy(registered_project / "churn.ipynb", other)
    try:
        assert cli("run", "other.ipynb", "-p", "sample_fraction", "0.3") == 0
        churn_run = resolve_run(registered, "latest", "churn")
        assert churn_run.notebook.endswith("churn.ipynb")
        assert resolve_run(registered, "latest", "sampled").notebook.endswith("other.ipynb")
        assert cli("register", "latest", "--name", "sampled") == 0
        capsys.readouterr()
        # served predictions are compared with the registered model's own, not the sample
        # recorded with the parameters cell's defaults
        assert cli("smoke", "sampled:1", "--json") == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["passed"]
    finally:
        other.unlink()
    monkeypatch.setattr(registered, "list", lambda limit: [])
    with pytest.raises(ConfigError, match="no succeeded run of churn.ipynb"):
        resolve_run(registered, "latest", "churn")


def test_smoke_compares_the_server_with_the_registered_models_predictions(registered):
    target = serving.resolve(registered.home, "churn:2")
    assert len(target.expected) == 20
    flipped = ["not a prediction", *target.expected[1:]]
    with pytest.raises(CheckFailed, match="record 1: the model predicts"):
        serving.smoke(dataclasses.replace(target, expected=flipped))
    older = serving.smoke(dataclasses.replace(target, expected=None))  # registered before
    assert older["passed"] and "only checked" in older["notes"][0]


def test_validate_data_without_the_label_column_names_it(registered, registered_project, capsys):
    (registered_project / "nolabel.csv").write_text("a,b\n1,2\n")
    try:
        assert cli("validate", "churn", "2", "--data", "nolabel.csv") == 2
    finally:
        (registered_project / "nolabel.csv").unlink()
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith("error: nolabel.csv: no label column 'churn'")
    assert "inpackage" not in err and "KeyError" not in err
