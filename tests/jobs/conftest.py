"""Fixtures for job tests: a small project (git repo + data file + notebook) and its store."""

import subprocess
from pathlib import Path

import pytest

from ..conftest import write_notebook

PARAMS = ("parameters", "epochs = 3\nlr = 0.5\nlabel = 'base'")
BODY = [
    (None, "import pandas as pd\nfrom jupyter_mlops import log_metric, log_artifact\n"
           "df = pd.read_csv('data.csv')\nprint('rows', len(df))"),
    (None, "loss = float(df['a'].sum()) / (epochs * lr)\nlog_metric('loss', loss)\n"
           "with open('report.txt', 'w') as out:\n    out.write(label)\nlog_artifact('report.txt')"),
]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A git repository with data.csv and job.ipynb (no kernelspec metadata, on purpose)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "data.csv").write_text("a,b\n1,2\n3,4\n")
    write_notebook(root / "job.ipynb", [PARAMS, *BODY], kernel=False)
    for argv in (["init", "-q"], ["add", "."],
                 ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(["git", *argv], cwd=root, check=True, capture_output=True)
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    monkeypatch.chdir(root)
    return root
