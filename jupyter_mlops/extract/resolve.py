"""The last writer of every name an exported statement reads, and the hidden-state errors.

A tagged cell that reads a name last set by an untagged or ``mlops:skip`` cell would make the
package differ from the notebook silently, so that is an error naming both cells, unless it is
a helper or import the package adopts (see ``adopt``). Roles do not force an order: a
featurization cell may read from a training cell before it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Union

from ..errors import DataflowError
from ..notebook import Cell, role_tag
from .dataflow import BUILTIN_NAMES, Statement, ordered_reads
from .program import EXPORTED, Program

PARAMETER = "parameter"
MODULE_LEVEL = "module"
Writer = Union[int, str]  # an inline piece's position, PARAMETER or MODULE_LEVEL


@dataclass(frozen=True)
class Dataflow:
    """For each inline piece (by position), the names it reads and who wrote each."""

    reads: tuple[tuple[tuple[str, Writer], ...], ...]

    def writers(self, position: int) -> dict[str, Writer]:
        """Name -> writer for the piece at ``position``."""
        return dict(self.reads[position])

    def readers_of(self, position: int) -> list[tuple[int, str]]:
        """(reader position, name) of every read whose writer is the piece at ``position``."""
        return self._readers().get(position, [])

    @functools.lru_cache(maxsize=1)  # noqa: B019  # frozen: one index per flow
    def _readers(self) -> dict[Writer, list[tuple[int, str]]]:
        index: dict[Writer, list[tuple[int, str]]] = {}
        for reader, pairs in enumerate(self.reads):
            for name, writer in pairs:
                index.setdefault(writer, []).append((reader, name))
        return index


def _who(cell: Cell) -> str:
    role = role_tag(cell.role) if cell.role else "untagged"
    return f"cell {cell.number} (id {cell.cell_id}, {role})"


def _writer_of(program: Program, cell: Cell, stmt: Statement, name: str,
               last: dict[str, tuple[Cell, Writer, bool]]) -> Writer | None:
    """Who wrote ``name`` for this read; raises when the package could not have it."""
    nb = program.notebook
    found = last.get(name)
    if found is None:
        if name in stmt.writes or name in BUILTIN_NAMES:
            return None  # bound inside the statement itself (if/else branches, loops)
        raise DataflowError(
            f"reads `{name}` but no cell before it defines it; define it in an earlier cell "
            "(or in the parameters or mlops:setup cell)",
            path=nb.path, cell=cell.ref, line=stmt.start)
    writer_cell, writer, adopted = found
    if (writer_cell.role not in EXPORTED or writer_cell.role == "skip") and not adopted:
        raise DataflowError(
            f"reads `{name}`, which was last set by {_who(writer_cell)}; that cell is not "
            "exported, so the package would differ from the notebook. Tag that cell with a "
            f"role, or move the assignment of `{name}` into a tagged cell",
            path=nb.path, cell=cell.ref, other_cell=writer_cell.ref, line=stmt.start)
    if cell.role in ("setup", "parameters") and writer not in (PARAMETER, MODULE_LEVEL):
        raise DataflowError(
            f"is a {role_tag(cell.role)} cell but reads `{name}` from {_who(writer_cell)}; "
            "setup code may only use other setup code",
            path=nb.path, cell=cell.ref, other_cell=writer_cell.ref, line=stmt.start)
    return writer


def resolve(program: Program) -> Dataflow:
    """Resolve every read of every exported statement to its last writer (notebook order)."""
    position = {(p.cell.index, p.statement.start): i for i, p in enumerate(program.inline)}
    last: dict[str, tuple[Cell, Writer, bool]] = {}
    reads: dict[int, list[tuple[str, Writer]]] = {i: [] for i in range(len(program.inline))}
    for cell in program.notebook.code_cells:
        exported = cell.role in EXPORTED and cell.role != "skip"
        kept = program.kept.get(cell.index, ())
        for stmt in program.statements[cell.index]:
            if exported and stmt not in kept:
                continue  # dropped display code (and a left-out `model = joblib.load(...)`)
            here = position.get((cell.index, stmt.start))
            if exported:
                for name in ordered_reads(stmt):
                    writer = _writer_of(program, cell, stmt, name, last)
                    if writer is not None and here is not None:
                        reads[here].append((name, writer))
            kind: Writer = here if here is not None else (
                PARAMETER if cell.role == "parameters" else MODULE_LEVEL)
            adopted = (cell.index, stmt.start) in program.adopted
            for name in stmt.writes:
                last[name] = (cell, kind, adopted)
    return Dataflow(tuple(tuple(reads[i]) for i in range(len(program.inline))))
