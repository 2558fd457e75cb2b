"""``jupyter nbconvert --to mlops`` writes the same package as ``jupyter mlops productionize``."""

import json
import subprocess
import sys

import pytest

from jupyter_mlops.productionize import productionize

from .conftest import MESSY, write_notebook

pytestmark = pytest.mark.slow


def test_nbconvert_exporter_gives_the_same_package(tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    # the same files either way; pylint and the generated tests are productionize's own
    # tests' business, so neither run here
    direct = productionize(nb, tmp_path / "direct", execute=False, checks=False)
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "mlops", str(nb),
         "--MlopsExporter.execute=False", "--MlopsExporter.checks=False",
         f"--MlopsExporter.out={tmp_path / 'via'}"],
        cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "analysis.mlops.json").read_text())
    assert summary["ok"] and summary["package"] == "analysis"
    assert summary["lint"] is None and summary["tests"] is None
    for rel in direct.files:
        if rel.endswith((".py", ".toml", ".txt", ".yml")):
            assert (tmp_path / "via" / rel).read_bytes() == (tmp_path / "direct" / rel).read_bytes()
