"""Request logs against the training profile: a shifted column is flagged, the others are not;
the report has its plot and the verdict is audited. A canary answers part of the traffic,
every answer names its version, and monitor compares the two versions' predictions."""

import json
import shutil
import signal
import subprocess
import sys
import tempfile

import pandas as pd
import pytest

from jupyter_mlops.registry import Registry, serving
from jupyter_mlops.registry.lifecycle import MODEL_DIR, PACKAGE_DIR, in_package
from jupyter_mlops.registry.monitoring import monitor
from jupyter_mlops.store import RunStore

from .conftest import EXAMPLE, cli, trained_package

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """churn:1 and churn:2 in a project's registry (the committed package, trained once,
    profiled as register does); the project sets one monitor threshold."""
    root = tmp_path_factory.mktemp("monitor") / "project"
    root.mkdir()
    shutil.copy(EXAMPLE / "customers.csv", root / "customers.csv")
    shutil.copy(EXAMPLE / "churn.ipynb", root / "churn.ipynb")
    (root / "pyproject.toml").write_text("[tool.jupyter-mlops.monitor]\nmin_rows = 40\n")
    staged = root / "staged"
    staged.mkdir()
    trained_package(staged, staged / MODEL_DIR)
    profile = in_package(staged / PACKAGE_DIR, {"action": "profile", "package": "churn",
                                                "predictions": True}, root,
                         model_dir=staged / MODEL_DIR)
    store = RunStore(root / ".mlops")
    record = {"package": "churn", "notebook": str(root / "churn.ipynb"), "profile": profile}
    registry = Registry(store)
    shutil.copytree(staged, root / "staged2")
    registry.add("churn", "run-1", staged, record)
    registry.add("churn", "run-2", root / "staged2", record)
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.delenv("JUPYTER_MLOPS_HOME", raising=False)
    yield store
    mp.undo()


def _batches(shift: float = 0.0, size: int = 20, count: int = 15) -> list[bytes]:
    rows = pd.read_csv(EXAMPLE / "customers.csv").drop(columns=["churn"]).sample(
        size * count, random_state=3)
    rows["monthly_charges"] = rows["monthly_charges"] + shift
    records = json.loads(rows.to_json(orient="records"))
    return [json.dumps(records[i:i + size]).encode() for i in range(0, len(records), size)]


def test_profile_keeps_distributions_and_training_predictions(project):
    profile = Registry(project).get("churn", 1).record["profile"]
    assert len(profile["columns"]["monthly_charges"]["distribution"]["sketch"]) == 500
    assert set(profile["columns"]["contract"]["distribution"]["counts"]) == {
        "month-to-month", "one-year", "two-year"}
    assert profile["predictions"]["kind"] == "category"
    assert set(profile["predictions"]["counts"]) == {"0", "1"}


def test_monitor_flags_the_shifted_column_and_not_the_others(project, capsys, tmp_path):
    target = serving.resolve(project.home, "churn:1")
    with serving.running_server(target, target.model_dir,
                                options=serving.ServeOptions()) as url:
        for body in _batches(shift=60.0):
            assert serving.post_json(url + "/score", body)[0] == 200
    capsys.readouterr()
    report = tmp_path / "drift.html"
    assert cli("monitor", "churn:1", "--json", "--report", str(report)) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["requests"] == 15 and verdict["rows"] == 300
    assert "monthly_charges" in verdict["drifted"]
    for unshifted in ("tenure_months", "support_calls", "contract", "payment_method"):
        assert unshifted not in verdict["drifted"], verdict["checks"]
    tested = {(c["column"], c["test"]) for c in verdict["checks"]}
    assert {("monthly_charges", "KS p-value"), ("monthly_charges", "PSI"),
            ("contract", "chi-square p-value"), ("contract", "unseen categories"),
            ("senior", "null rate")} <= tested
    page = report.read_text()
    assert 'alt="monthly_charges: training against served"' in page and "base64," in page
    assert 'alt="tenure_months' not in page  # a plot per drifted column only
    events = [e for e in Registry(project).events("churn") if e["action"] == "monitored"]
    assert events and events[-1]["details"]["drifted"] == verdict["drifted"]


def test_unshifted_traffic_passes_and_unseen_categories_are_flagged(project, tmp_path):
    log = tmp_path / "requests.jsonl"
    lines = []
    for body in _batches():
        records = json.loads(body)
        lines.append({"time": "t", "model_version": "churn:1", "status": 200,
                      "records": records, "predictions": [0] * len(records)})
    log.write_text("".join(json.dumps(e) + "\n" for e in lines))
    assert monitor(project, "churn:1", log=log, report=tmp_path / "a.html").drifted == [
        "prediction"]  # the logged predictions here are all 0: that is drift
    for entry in lines:
        for record in entry["records"][:5]:
            record["contract"] = "weekly"
    log.write_text("".join(json.dumps(e) + "\n" for e in lines))
    found = monitor(project, "churn:1", log=log, report=tmp_path / "b.html")
    assert "contract" in found.drifted and "tenure_months" not in found.drifted
    unseen = next(c for c in found.checks if c.column == "contract"
                  and c.test == "unseen categories")
    assert unseen.value == pytest.approx(0.25) and "weekly" in unseen.detail


def test_a_canary_answers_part_of_the_traffic_and_monitor_compares_it(project, tmp_path):
    port = serving.free_port()
    errors = tempfile.TemporaryFile()
    log = tmp_path / "canary.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "serve", "churn:1",
                             "--canary", "churn:2", "--canary-fraction", "0.5", "--port",
                             str(port), "--log", str(log)], stdout=subprocess.DEVNULL,
                            stderr=errors)
    url = f"http://127.0.0.1:{port}"
    try:
        serving.wait_for_health(url, proc, "canary router", 120, errors)
        answers = [serving.post_json(url + "/score", body)
                   for body in _batches(size=10, count=40)]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    errors.seek(0)
    err = errors.read().decode()
    assert all(status == 200 for status, _ in answers)
    versions = [answer["model_version"] for _, answer in answers]
    assert set(versions) == {"churn:1", "churn:2"}
    assert 5 <= versions.count("churn:2") <= 35
    assert proc.returncode == 0 and "Traceback" not in err
    logged = [json.loads(line)["model_version"] for line in log.read_text().splitlines()]
    assert sorted(logged) == sorted(versions)
    found = monitor(project, "churn:1", log=log, report=tmp_path / "c.html")
    compared = [c for c in found.checks if c.column == "prediction of churn:2"]
    assert compared and not any(c.drifted for c in compared)  # the same model answers alike
    assert any("churn:2 answered" in n for n in found.notes)
