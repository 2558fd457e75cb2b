"""Helpers and imports a tagged cell uses from an untagged cell, exported with it.

Data scientists define their helpers (``def clean(frame): ...``) and import what they need
wherever they first need it, often in a cell they never tag. A function definition, a class or
an import has no effect beyond binding its name, so when a tagged cell calls a helper that an
untagged cell defined, the package can have that definition as it is (in ``common.py``) and
still run what the notebook ran. Only definitions whose own globals resolve to what the
package has at module level are adopted (builtins, imports, setup and parameters, other
adopted helpers); one that reads, say, a threshold set in an untagged cell is not, and the
hidden-state error names it. ``mlops:skip`` cells are never adopted: the user left them out.
"""

from __future__ import annotations

from typing import Optional

from ..notebook import Notebook
from .dataflow import BUILTIN_NAMES, Statement

Position = tuple[int, int]  # (cell index, statement start line)
#: Roles whose statements are module level in the package: a helper may read them.
_MODULE_ROLES = ("setup", "parameters")


def adopted_statements(nb: Notebook, statements: dict[int, tuple[Statement, ...]],
                       kept: dict[int, list[Statement]], exported: frozenset[str]
                       ) -> frozenset[Position]:
    """Positions of the untagged ``def``/``class``/``import`` statements the exported code
    reads (as the last writer of the name, in notebook order), with the helpers they use."""
    # name -> (cell role, statement position, statement) of its last writer so far
    last: dict[str, tuple[Optional[str], Position, Statement]] = {}
    # an untagged definition's globals, resolved where it is defined (as setup code is)
    resolved: dict[Position, dict[str, Optional[tuple[Optional[str], Position, Statement]]]] = {}
    wanted: list[Position] = []
    for cell in nb.code_cells:
        tagged = cell.role in exported and cell.role != "skip"
        for stmt in (kept[cell.index] if tagged else statements[cell.index]):
            where = (cell.index, stmt.start)
            if tagged:
                wanted += [w[1] for w in (last.get(n) for n in stmt.reads)
                           if w is not None and w[0] is None and w[2].kind in ("def", "import")]
            elif cell.role is None and stmt.kind in ("def", "import"):
                resolved[where] = {name: last.get(name) for name in stmt.reads}
            for name in stmt.writes:
                last[name] = (cell.role, where, stmt)
    return _closure(wanted, resolved, exported)


def _closure(wanted: list[Position], resolved: dict, exported: frozenset[str]
             ) -> frozenset[Position]:
    """``wanted`` and the untagged helpers they read, minus any definition that reads
    something the package would not have at module level (and whatever needs that one)."""
    adopted: set[Position] = set()
    refused: set[Position] = set()

    def visit(position: Position, path: frozenset) -> bool:
        if position in adopted:
            return True
        if position in refused or position in path:
            return position in path  # a cycle of helpers calling each other is fine
        ok = True
        for name, writer in resolved.get(position, {}).items():
            if writer is None:
                ok = ok and name in BUILTIN_NAMES
            elif writer[0] is None and writer[2].kind in ("def", "import"):
                ok = visit(writer[1], path | {position}) and ok
            elif writer[0] not in exported or writer[0] == "skip" or (
                    writer[0] not in _MODULE_ROLES and writer[2].kind not in ("def", "import")):
                ok = False  # data, or a value set outside setup: not there at import
        (adopted if ok else refused).add(position)
        return ok

    for position in wanted:
        visit(position, frozenset())
    return frozenset(adopted)
