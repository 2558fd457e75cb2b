"""Our entry points defer jsonschema's IRI grammar until something checks an IRI."""

import subprocess
import sys

import pytest

from .conftest import write_notebook

CHECK = """
import sys
from jupyter_mlops.startup import defer_unused_imports
defer_unused_imports()
import nbformat
nbformat.validate(nbformat.v4.new_notebook())
deferred = "rfc3987_syntax.syntax_helpers" not in sys.modules
from jsonschema import FormatChecker
checker = FormatChecker()
print(deferred, checker.conforms("http://example.com/a b", "iri"),
      checker.conforms("http://example.com/x", "iri"),
      "rfc3987_syntax.syntax_helpers" in sys.modules)
"""


def test_nbformat_imports_without_building_the_iri_grammar_and_iris_are_still_checked():
    pytest.importorskip("rfc3987_syntax")  # what jupyter-events installs; absent, no cost
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True", "True"]


def test_a_cli_command_reading_a_notebook_never_builds_it(tmp_path):
    pytest.importorskip("rfc3987_syntax")
    nb = write_notebook(tmp_path / "nb.ipynb", [("data", "x = 1")])
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "jupyter_mlops", "roles",
                           str(nb)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nbformat" in done.stderr  # the notebook was read with nbformat
    assert "rfc3987_syntax.syntax_helpers" not in done.stderr
