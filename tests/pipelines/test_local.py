"""Running the compiled pipelines with kfp.local: recorded runs, the notebook's metrics, a
ParallelFor sweep whose members are runs, and a failing step named with its cell."""

import builtins
import json
from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.store import RunStore

pytestmark = pytest.mark.slow


def _recorded_metrics(notebook: Path) -> dict:
    recording = notebook.parent / "package" / "tests" / "fixtures" / "recording.json"
    return json.loads(recording.read_text(encoding="utf-8"))["metrics"]


def _pipeline(notebook: Path, capsys, *argv: str) -> tuple[int, dict]:
    code = main(["pipeline", str(notebook), "--run-local", "--out",
                 str(notebook.parent / "package"), "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_a_local_sweep_records_each_member_with_the_notebooks_metrics(example, capsys,
                                                                     monkeypatch):
    notebook = example("churn")
    monkeypatch.chdir(notebook.parent)  # `runs` finds the notebook's store from here
    printing = builtins.print
    code, payload = _pipeline(notebook, capsys, "-p", "C", "1.0,0.5")
    assert code == 0, payload
    # kfp.local's indented print, swapped in by members running at once, is not left behind
    assert builtins.print is printing
    store = RunStore(notebook.parent / ".mlops")
    members = store.list(sweep_id=payload["sweep_id"])
    assert sorted(r.parameters["C"] for r in members) == [0.5, 1.0]
    assert all(r.status == "succeeded" and r.record["kind"] == "kfp-local" for r in members)
    default = next(r for r in members if r.parameters["C"] == 1.0)
    # the notebook's own metrics (recorded when productionize ran it) at the default C
    for name, value in _recorded_metrics(notebook).items():
        assert default.metrics[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    artifacts = store.run_dir(default.id) / "artifacts"
    assert (artifacts / "pipeline.yaml").is_file()
    assert sorted(p.name for p in (artifacts / "model").iterdir()) == [
        "metrics.json", "model.pkl", "parameters.json"]
    assert default.record["gate"] == {"passed": True, "against_production": False,
                                      "metrics": []}
    assert main(["runs", "compare", members[0].id, members[1].id]) == 0
    capsys.readouterr()
    assert main(["runs", "show", default.id]) == 0
    assert "pipeline: " in capsys.readouterr().out


def test_a_failing_step_is_a_failed_run_naming_the_step_and_its_cell(example, capsys):
    notebook = example("churn")
    code, payload = _pipeline(notebook, capsys, "-p", "C", "-1")
    assert code == 1
    (run,) = payload["runs"]
    assert run["status"] == "failed"
    error = run["error"]
    assert (error["step"], error["cell_id"], error["cell_number"]) == ("train", "train", 17)
    assert error["message"].startswith("step train failed in notebook cell 17 (id train)")
    progress = RunStore(notebook.parent / ".mlops").get(run["id"]).progress
    assert (progress["step"], progress["finished"], progress["cell_number"]) == (
        "train", "failure", 17)  # where the jobs panel saw it stop
    assert "InvalidParameterError" in error["message"]


def test_trained_state_passes_between_steps_to_the_notebooks_metrics(example, capsys):
    notebook = example("spam")
    code, payload = _pipeline(notebook, capsys)
    assert code == 0, payload
    (run,) = payload["runs"]
    for name, value in _recorded_metrics(notebook).items():
        assert run["metrics"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
    model_dir = Path(run["model_dir"])
    assert (model_dir / "state.pkl").is_file()  # the vectorizer scoring reuses
