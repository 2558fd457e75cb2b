"""Magics and shell lines in tagged cells: drop the harmless, refuse the rest by cell and line."""

import pytest

from jupyter_mlops.errors import NotebookError
from jupyter_mlops.extract.source import clean_source, lenient_source
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


@pytest.mark.parametrize("source, code", [
    ("%timeit -n 3 model.predict(X)", "model.predict(X)"),
    ("%timeit -n3 -r 1 -q f(3)", "f(3)"),
    ("%timeit -qo -p 2 f(x, -n)", "f(x, -n)"),
    ("%timeit -t -c  total = a  +  b", "total = a  +  b"),
    ("%prun -s cumulative -q -l 5 model.fit(X, y)", "model.fit(X, y)"),
    ("%time -x", "-x"),
    ("for i in range(2):\n    %timeit -n 1 f(i)", "for i in range(2):\n    f(i)"),
])
def test_timing_options_are_not_part_of_the_statement(source, code):
    assert clean_source(cell(source), "nb.ipynb").code == code


@pytest.mark.parametrize("source, code", [
    ("%%time\nmodel = fit()", "\nmodel = fit()"),
    ("%%capture out --no-stderr\nmodel = fit()", "\nmodel = fit()"),
    ("%%prun -s cumulative -q\nmodel = fit()", "\nmodel = fit()"),
    ("%%timeit -n 3 -r 1\nmodel.fit(X, y)", "\nmodel.fit(X, y)"),
    ("%%timeit -n3 m = make()\nm.fit(X, y)", "m = make()\nm.fit(X, y)"),
])
def test_python_cell_magics_keep_their_body(source, code):
    clean = clean_source(cell(source), "nb.ipynb")
    assert clean.code == code
    assert "line 1: dropped cell magic" in clean.warnings[0]


@pytest.mark.parametrize("source", [
    "%%time\nmodel = fit()",
    "%%capture out\nmodel = fit()",
    "%%prun -q\nmodel = fit()",
    "%%timeit -n 3\nmodel = fit()",
    "%time model = fit()",
    "%timeit -n 3 -r 1 model = fit()",
    "%%time\n%matplotlib inline\nmodel = fit()",
])
def test_untagged_cells_see_the_python_a_magic_runs(source):
    untagged = Cell(4, "abc", "code", source, None)
    code = lenient_source(untagged)
    assert "model = fit()" in code.split("\n")
    # one helper for both paths: untagged cells read the same code tagged cells export
    shown = code.replace("get_ipython().run_line_magic('matplotlib', 'inline')", "")
    assert shown.rstrip("\n") == clean_source(untagged, "nb.ipynb").code


def test_other_cell_magics_stay_opaque_in_untagged_cells():
    code = lenient_source(Cell(4, "abc", "code", "%%bash\nmodel=1\n", None))
    assert "run_cell_magic('bash'" in code and "model = " not in code


def test_a_percent_continuation_line_inside_brackets_is_python_not_a_magic():
    # old-style formatting split over lines: IPython runs it as Python, so do we
    source = 'print("acc %.3f, f1 %.3f" %\n      (acc, f1))\n%matplotlib inline'
    clean = clean_source(cell(source), "nb.ipynb")
    assert clean.code.split("\n")[:2] == source.split("\n")[:2]
    assert len(clean.warnings) == 1 and "line 3" in clean.warnings[0]
