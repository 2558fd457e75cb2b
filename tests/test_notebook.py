"""Reading notebooks: every kind of bad file gets a clear NotebookError naming it."""

import json

import nbformat
import pytest

from jupyter_mlops.errors import NotebookError, NotebookNotFound, RoleError
from jupyter_mlops.notebook import read_notebook, with_role


def test_roles_come_from_tags(notebook):
    nb = read_notebook(notebook([("setup", "import os"), ("parameters", "a = 1"), "x = 2"]))
    assert [c.role for c in nb.cells] == ["setup", "parameters", None]
    assert [c.number for c in nb.cells] == [1, 2, 3]


def test_missing_file(tmp_path):
    with pytest.raises(NotebookNotFound, match="no such notebook"):
        read_notebook(tmp_path / "nope.ipynb")


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'{"a": 1}', "not a Jupyter notebook"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(),
     "nbformat 3"),
])
def test_bad_files_are_named(tmp_path, data, message):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(data)
    with pytest.raises(NotebookError, match=message) as info:
        read_notebook(path)
    assert str(path) in str(info.value)


def test_unknown_role_tag_names_the_cell(notebook):
    path = notebook(["x = 1", (["mlops:trainig"], "y = 2")])
    with pytest.raises(RoleError) as info:
        read_notebook(path)
    assert "cell 2 (id c2)" in str(info.value) and "mlops:trainig" in str(info.value)
    assert info.value.cell.number == 2


def test_two_roles_on_one_cell_is_an_error(notebook):
    with pytest.raises(RoleError, match="more than one role"):
        read_notebook(notebook([(["mlops:data", "mlops:training"], "x = 1")]))


def test_with_role_keeps_other_tags(notebook):
    path = notebook([(["keep-me", "mlops:skip"], "x = 1")])
    cell = with_role(path, "1", "training")
    assert cell.role == "training"
    assert nbformat.read(path, as_version=4).cells[0].metadata.tags == ["keep-me",
                                                                          "mlops:training"]
    with_role(path, "c1", None)
    assert nbformat.read(path, as_version=4).cells[0].metadata.tags == ["keep-me"]


def test_tagging_a_cell_that_does_not_exist(notebook):
    with pytest.raises(NotebookError, match="no cell '9'"):
        with_role(notebook(["x = 1"]), "9", "data")


def test_old_notebooks_without_ids_get_stable_ones(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 4
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    del nb.cells[0]["id"]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert read_notebook(path).cells[0].cell_id == "cell-1"
