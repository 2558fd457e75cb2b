"""Magics and shell lines in tagged cells: drop the harmless, refuse the rest by cell and line."""

import pytest

from jupyter_mlops.errors import NotebookError
from jupyter_mlops.extract.source import clean_source
from jupyter_mlops.notebook import Cell


def cell(source: str) -> Cell:
    return Cell(4, "abc", "code", source, "featurization")


def test_harmless_magics_are_dropped_with_a_warning():
    clean = clean_source(cell("%matplotlib inline\n%load_ext autoreload\n%autoreload 2\nx = 1"),
                         "nb.ipynb")
    assert clean.code.split("\n") == ["", "", "", "x = 1"]
    assert len(clean.warnings) == 3 and "cell 5" in clean.warnings[0]


def test_pip_install_becomes_a_requirement():
    clean = clean_source(cell("!pip install -q xgboost==2.0 'lightgbm>=4'\n%pip install shap\n"),
                         "nb.ipynb")
    assert clean.requirements == ("xgboost==2.0", "lightgbm>=4", "shap")
    assert all("requirements" in w for w in clean.warnings)


@pytest.mark.parametrize("source, line", [
    ("x = 1\n!ls data/", 2),
    ("%%bash\necho hi", 1),
    ("%sql SELECT 1", 1),
    ("files = !ls\n", 1),
    ("x = 1\nx?", 2),
])
def test_other_magics_are_errors_naming_cell_and_line(source, line):
    with pytest.raises(NotebookError) as info:
        clean_source(cell(source), "nb.ipynb")
    assert info.value.cell.number == 5 and info.value.line == line
    assert "nb.ipynb cell 5 (id abc) line" in str(info.value)


def test_syntax_error_names_cell_and_line():
    with pytest.raises(NotebookError, match="syntax error") as info:
        clean_source(cell("x = 1\ny = (2 +\n"), "nb.ipynb")
    assert info.value.cell.number == 5


def test_timing_magic_keeps_the_statement():
    assert clean_source(cell("%time model = fit()"), "nb.ipynb").code == "model = fit()"
