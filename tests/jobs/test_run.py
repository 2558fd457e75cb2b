"""Recorded training jobs: real papermill kernels, real SQLite store, real git."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil  # an ipykernel dependency
import pytest

from jupyter_mlops.errors import ConfigError
from jupyter_mlops.jobs.run import quiet_black_warning, run_job
from jupyter_mlops.store import RunStore, find_home

from ..conftest import write_notebook
from .conftest import BODY, PARAMS

pytestmark = pytest.mark.slow


def cli(*argv, cwd, env=None, timeout=180):
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_run_records_parameters_lineage_metrics_and_artifacts(project):
    (project / "job.ipynb").write_text((project / "job.ipynb").read_text())  # same bytes
    (project / "notes.txt").write_text("uncommitted")
    outcome = run_job(project / "job.ipynb", {"epochs": "4", "label": "tuned"})
    run = outcome.run
    assert outcome.exit_code == 0 and run.status == "succeeded"
    assert run.parameters == {"epochs": 4, "label": "tuned"}
    assert run.metrics == {"loss": pytest.approx(4 / (4 * 0.5))}
    data = run.to_dict()
    assert data["inputs"] == [{"path": str((project / "data.csv").resolve()),
                               "sha256": data["inputs"][0]["sha256"]}]
    assert len(data["inputs"][0]["sha256"]) == 64
    git = data["git"]
    assert len(git["commit"]) == 40 and git["dirty"] and "notes.txt" in git["untracked"]
    assert [c["number"] for c in data["cells"]] == [1, 2, 3]
    assert data["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "papermill" in data["environment"]["packages"]
    executed = nbformat.read(data["files"]["executed"], as_version=4)
    assert "injected-parameters" in executed.cells[1].metadata.tags
    assert "rows 2" in Path(data["files"]["stdout"]).read_text()
    run_dir = find_home(project) / "runs" / run.id
    assert (run_dir / "artifacts" / "report.txt").read_text() == "tuned"
    assert data["artifacts"][0]["name"] == "report.txt"
    assert find_home(project) == project / ".mlops"


def test_failing_cell_marks_the_run_failed_and_keeps_the_executed_notebook(project):
    write_notebook(project / "job.ipynb", [PARAMS, BODY[0], "raise ValueError('bad batch')",
                                           "never = 1"], kernel=False)
    outcome = run_job(project / "job.ipynb")
    run = outcome.run
    assert run.status == "failed" and outcome.exit_code == 1
    error = run.record["error"]
    assert (error["cell_number"], error["cell_id"], error["ename"]) == (3, "c3", "ValueError")
    executed = nbformat.read(run.record["files"]["executed"], as_version=4)
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert any(o.get("ename") == "ValueError" for o in outputs)


def test_kernel_killed_by_the_notebook_is_failed_not_hung(project):
    write_notebook(project / "job.ipynb", [PARAMS, "import os, signal\n"
                                           "os.kill(os.getpid(), signal.SIGKILL)"], kernel=False)
    started = time.time()
    done = cli("run", "job.ipynb", "--json", cwd=project)
    assert done.returncode == 3, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "failed" and record["ending"] == "kernel_died"
    assert time.time() - started < 120


def test_kernel_not_installed_is_a_recorded_failure_naming_it(project):
    nb = json.loads((project / "job.ipynb").read_text())
    nb["metadata"]["kernelspec"] = {"name": "py-old-env", "display_name": "old",
                                    "language": "python"}
    (project / "job.ipynb").write_text(json.dumps(nb))
    outcome = run_job(project / "job.ipynb")
    assert outcome.run.status == "failed" and outcome.exit_code == 1
    message = outcome.run.record["error"]["message"]
    assert "'py-old-env' is not installed" in message and "jupyter kernelspec list" in message


def test_the_kernel_is_shut_down_after_the_run(project):
    def kernels():
        return {p.pid for p in psutil.Process().children(recursive=True)
                if "ipykernel" in " ".join(p.cmdline())}

    before = kernels()
    run_job(project / "job.ipynb")
    write_notebook(project / "job.ipynb", [PARAMS, "raise ValueError('bad')"], kernel=False)
    run_job(project / "job.ipynb")
    assert kernels() == before


def test_sigterm_marks_the_run_cancelled(project):
    write_notebook(project / "job.ipynb", [PARAMS, "import time\ntime.sleep(60)"], kernel=False)
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "run", "job.ipynb", "--json"],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = RunStore(project / ".mlops")
    deadline = time.time() + 60
    while time.time() < deadline and not any(r.status == "running" for r in store.list()):
        time.sleep(0.5)
    time.sleep(4)  # let the kernel reach the sleeping cell
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads(out)["status"] == "cancelled"
    assert store.list()[0].status == "cancelled"


def test_wrong_type_fails_before_any_kernel_and_unknown_names_warn(project):
    done = cli("run", "job.ipynb", "-p", "epochs", "ten", cwd=project)
    assert done.returncode == 2 and "expects an int" in done.stderr and "epochs = 3" in done.stderr
    assert not (project / ".mlops" / "runs").exists() or not list(
        (project / ".mlops" / "runs").iterdir())
    with pytest.raises(ConfigError):
        run_job(project / "job.ipynb", {"lr": "fast"})
    outcome = run_job(project / "job.ipynb", {"dropout": "0.2"})
    assert any("dropout" in w for w in outcome.warnings) and outcome.run.status == "succeeded"


def test_parameters_from_yaml_file_and_string(project):
    (project / "params.yaml").write_text("epochs: 2\nlabel: from-file\n")
    done = cli("run", "job.ipynb", "-f", "params.yaml", "-y", "lr: 0.25", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parameters"] == {"epochs": 2, "label": "from-file",
                                                     "lr": 0.25}
    assert done.stderr.splitlines()[0].startswith("run ")


def test_log_metric_prints_when_run_by_hand(capsys, monkeypatch):
    from jupyter_mlops import log_metric  # pylint: disable=import-outside-toplevel

    monkeypatch.delenv("JUPYTER_MLOPS_RUN_DIR", raising=False)
    assert log_metric("accuracy", 0.9) == 0.9
    assert capsys.readouterr().out == "accuracy: 0.9\n"


def test_store_home_can_be_overridden(project, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MLOPS_HOME", str(tmp_path / "elsewhere"))
    outcome = run_job(project / "job.ipynb")
    assert (tmp_path / "elsewhere" / "runs" / outcome.run.id / "executed.ipynb").is_file()


def test_reproduce_reports_changed_inputs(project):
    first = run_job(project / "job.ipynb", {"epochs": "5"}).run
    same = cli("reproduce", first.id, "--json", cwd=project)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["ok"]
    (project / "data.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    changed = cli("reproduce", first.id, "--json", cwd=project)
    report = json.loads(changed.stdout)
    assert changed.returncode == 1
    assert report["changed_inputs"][0]["path"].endswith("data.csv")
    assert report["metric_mismatches"][0]["name"] == "loss"
    loose = cli("reproduce", first.id, "--tolerance", "loss=10", cwd=project)
    assert loose.returncode == 1 and "input changed" in loose.stdout


def test_reproduce_calls_a_deleted_input_missing(project):
    first = run_job(project / "job.ipynb").run
    (project / "data.csv").unlink()
    done = cli("reproduce", first.id, cwd=project)
    assert done.returncode == 1
    assert f"input missing: {(project / 'data.csv').resolve()}" in done.stdout
    assert "input changed" not in done.stdout


def test_runs_list_show_compare(project):
    a = run_job(project / "job.ipynb", {"epochs": "2"}).run
    b = run_job(project / "job.ipynb", {"epochs": "4"}).run
    listed = json.loads(cli("runs", "list", "--json", cwd=project).stdout)
    assert [r["id"] for r in listed] == [b.id, a.id]
    shown = cli("runs", "show", a.id[:-2], cwd=project)
    assert shown.returncode == 0 and "epochs=2" in shown.stdout
    table = json.loads(cli("runs", "compare", a.id, b.id, "--json", cwd=project).stdout)
    epochs = next(r for r in table["parameters"] if r["name"] == "epochs")
    assert epochs == {"name": "epochs", "values": [2, 4], "differs": True}
    loss = next(r for r in table["metrics"] if r["name"] == "loss")
    assert loss["values"] == [4.0, 2.0] and loss["differs"]
    assert cli("runs", "show", "nope", cwd=project).returncode == 2


def test_cell_timeout_has_its_own_exit_code(project):
    write_notebook(project / "job.ipynb", [PARAMS, "import time\ntime.sleep(30)"], kernel=False)
    done = cli("run", "job.ipynb", "--timeout", "2", "--json", cwd=project)
    assert done.returncode == 4, done.stderr
    assert json.loads(done.stdout)["ending"] == "timeout"


def test_papermill_black_warning_is_demoted_to_debug(caplog):
    caplog.set_level(logging.WARNING, logger="papermill.translators")
    quiet_black_warning()
    logger = logging.getLogger("papermill.translators")
    logger.warning("Black encountered an error, skipping formatting (module 'black' has no "
                   "attribute 'FileMode')")
    logger.warning("Unable to parse line 3 'x ='.")
    assert [r.getMessage() for r in caplog.records] == ["Unable to parse line 3 'x ='."]
