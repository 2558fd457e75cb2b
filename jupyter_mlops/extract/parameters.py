"""Papermill's ``parameters`` cell: names, default sources and literal types."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional

from ..errors import NotebookError
from ..notebook import Notebook
from .dataflow import Statement, cell_statements
from .source import clean_source


@dataclass(frozen=True)
class Parameter:
    """A name from papermill's ``parameters`` cell."""

    name: str
    default: str  # Python source of the default value
    type_name: Optional[str]  # int, float, str, bool or None when not a simple literal


def _literal_type(node: ast.expr) -> Optional[str]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return None
    for kind in (bool, int, float, str):
        if type(value) is kind:  # pylint: disable=unidiomatic-typecheck  # bool is an int
            return kind.__name__
    return None


def _assigned(node: ast.stmt) -> list[tuple[str, ast.expr]]:
    """``(name, value)`` of ``a = b = 1`` and ``a: int = 1``; [] for anything else."""
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return [(t.id, node.value) for t in node.targets]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return [(node.target.id, node.value)]
    return []


def parameters_of(nb: Notebook, statements: dict[int, tuple[Statement, ...]]
                  ) -> tuple[Parameter, ...]:
    """The parameters cell's assignments, in order; a second ``parameters`` cell is an error."""
    found: dict[str, Parameter] = {}
    cells = nb.tagged("parameters")
    if len(cells) > 1:
        raise NotebookError(
            f"two cells are tagged `parameters` ({cells[0].ref} and {cells[1].ref}): papermill "
            "injects a job's values after the first one only, so the second would overwrite "
            "them. Merge them into one cell, or remove the tag from the second",
            path=nb.path, cell=cells[1].ref, other_cell=cells[0].ref)
    for cell in cells:
        for stmt in statements[cell.index]:
            pairs = _assigned(stmt.node)
            if not pairs and not isinstance(stmt.node, (ast.Import, ast.ImportFrom)):
                raise NotebookError(
                    "the parameters cell should only assign values (`name = value`), as papermill "
                    "expects; move other code to a setup cell",
                    path=nb.path, cell=cell.ref, line=stmt.start,
                )
            for name, value in pairs:
                found[name] = Parameter(name, ast.unparse(value), _literal_type(value))
    return tuple(found.values())


def notebook_parameters(nb: Notebook) -> tuple[Parameter, ...]:
    """Names, default sources and literal types of papermill's ``parameters`` cell."""
    statements = {cell.index: cell_statements(clean_source(cell, nb.path).code)
                  for cell in nb.tagged("parameters")}
    return parameters_of(nb, statements)
