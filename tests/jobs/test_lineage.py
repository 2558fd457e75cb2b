"""Lineage: the data files a run read, including those C and C++ readers open."""

import subprocess
import sys

import pytest

from jupyter_mlops.jobs.lineage import named_files
from jupyter_mlops.jobs.run import run_job
from jupyter_mlops.notebook import read_notebook

from ..conftest import write_notebook
from .conftest import PARAMS

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


def cli(*argv, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)


def inputs(run):
    return [item["path"] for item in run.record["inputs"]]


def write_parquet(path, rows):
    pd.DataFrame({"a": list(range(1, rows + 1))}).to_parquet(path)


@pytest.mark.slow
def test_reproduce_names_a_parquet_file_read_by_pyarrow_that_changed(project):
    write_parquet(project / "wine.parquet", 3)
    write_notebook(project / "job.ipynb", [
        ("parameters", "data_file = 'wine.parquet'\nepochs = 1"),
        "import pandas as pd\nfrom jupyter_mlops import log_metric\n"
        "df = pd.read_parquet(data_file)\nlog_metric('total', float(df['a'].sum()))"],
        kernel=False)
    run = run_job(project / "job.ipynb").run
    assert run.status == "succeeded"
    assert inputs(run) == [str((project / "wine.parquet").resolve())]
    write_parquet(project / "wine.parquet", 4)
    done = cli("reproduce", run.id, cwd=project)
    assert done.returncode == 1, done.stderr
    assert f"input changed: {(project / 'wine.parquet').resolve()}" in done.stdout


@pytest.mark.slow
def test_an_injected_file_parameter_replaces_the_default_as_input(project):
    for name in ("wine.parquet", "other.parquet"):
        write_parquet(project / name, 2)
    write_notebook(project / "job.ipynb", [
        ("parameters", "data_file = 'wine.parquet'"),
        "import pandas as pd\ndf = pd.read_parquet(data_file)"], kernel=False)
    run = run_job(project / "job.ipynb", {"data_file": "other.parquet"}).run
    assert inputs(run) == [str((project / "other.parquet").resolve())]


@pytest.mark.slow
def test_files_the_notebook_writes_are_not_inputs(project):
    write_parquet(project / "wine.parquet", 3)
    write_notebook(project / "job.ipynb", [
        PARAMS,
        "import pickle\nimport pandas as pd\ndf = pd.read_parquet('wine.parquet')\n"
        "df.to_parquet('scored.parquet')\n"  # written by pyarrow: the audit hook never sees it
        "with open('model.pkl', 'wb') as out:\n    pickle.dump(epochs, out)\n"
        "with open('data.csv') as src:\n    src.read()"], kernel=False)
    wanted = sorted(str((project / n).resolve()) for n in ("data.csv", "wine.parquet"))
    first = run_job(project / "job.ipynb").run
    assert first.status == "succeeded" and sorted(inputs(first)) == wanted
    # the second time model.pkl and scored.parquet exist before the run starts
    second = run_job(project / "job.ipynb").run
    assert sorted(inputs(second)) == wanted
    assert len(inputs(second)) == len(set(inputs(second)))  # read from Python and named: once


def test_named_files_are_existing_data_files_in_any_cell(tmp_path):
    for name in ("scores.h5", "helper.py", "default.npy", "given.npy"):
        (tmp_path / name).write_text("x")
    (tmp_path / "data").mkdir()
    path = write_notebook(tmp_path / "train.ipynb", [
        ("parameters", "arrays = 'default.npy'\nrate = 0.1"),
        "%matplotlib inline\nimport numpy as np\nfrom helper import *\n"
        "store = np.load('scores.h5')  # any reader\nmissing = 'absent.csv'",
        "import re\nfolder = 'data'\npattern = re.compile('\\d+')  # invalid escape: no warning\n"
        "me = 'train.ipynb'\nrun_me = 'helper.py'"])
    found = named_files(read_notebook(path), path.resolve(), {"arrays": ["given.npy"]}, ())
    assert list(found) == [str((tmp_path / n).resolve()) for n in ("given.npy", "scores.h5")]


def test_the_stored_git_diff_has_no_credentials_and_a_size_cap(project):
    from jupyter_mlops.jobs.lineage import MAX_DIFF_CHARS, git_state  # pylint: disable=C0415

    settings = project / "settings.py"
    settings.write_text("LR = 0.1\n")
    subprocess.run(["git", "add", "settings.py"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit",
                    "-qm", "settings"], cwd=project, check=True)
    secrets = ['API_KEY = "sk-abcdefghijklmnopqrstuvwx"', "aws = 'AKIAIOSFODNN7EXAMPLE'",
               "DB = 'postgresql://bob:hunter2@db.internal/prod'", "password: s3cretpass",
               "gh = 'ghp_" + "a" * 36 + "'", "-----BEGIN OPENSSH PRIVATE KEY-----"]
    settings.write_text("LR = 0.2\n" + "\n".join(secrets) + "\n")
    git = git_state(project)
    assert git["dirty"] and "+LR = 0.2" in git["diff"]
    for secret in ("sk-abc", "AKIAIOSFODNN7EXAMPLE", "hunter2", "s3cretpass", "ghp_",
                   "OPENSSH"):
        assert secret not in git["diff"]
    assert git["diff_redacted_lines"] == len(secrets)
    settings.write_text("LR = 0.2\n" + "x = 1\n" * (MAX_DIFF_CHARS // 4))
    cut = git_state(project)["diff"]
    assert len(cut) < MAX_DIFF_CHARS + 200 and "diff cut by jupyter-mlops" in cut
