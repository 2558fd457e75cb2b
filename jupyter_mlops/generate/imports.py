"""Import lines of a generated module: stdlib, third party, then package-local, each sorted."""

from __future__ import annotations

import ast
import sys
from typing import Iterable, Optional

from ..extract.program import Program


def _filtered_import(node: ast.stmt, names: set[str]) -> Optional[ast.stmt]:
    keep = [alias for alias in node.names  # type: ignore[attr-defined]
            if (alias.asname or alias.name.split(".")[0]) in names]
    if not keep:
        return None
    if isinstance(node, ast.Import):
        return ast.Import(names=keep)
    return ast.ImportFrom(module=node.module, names=keep, level=node.level)  # type: ignore


def _group(node: ast.stmt, package: Optional[str]) -> tuple[int, str]:
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return 0, ""
        if node.level or (package and (node.module or "").startswith(package + ".")):
            return 3, node.module or ""
        module = node.module or ""
    else:
        module = node.names[0].name  # type: ignore[attr-defined]
    top = module.split(".")[0]
    return (1 if top in sys.stdlib_module_names else 2), module


def render_imports(program: Program, needed: set[str], module: str,
                   extra: Iterable[str] = (), package: Optional[str] = None) -> str:
    """Import lines for the names ``module`` uses (``extra``: lines it always has); with
    ``package``, the package's own modules are imported by absolute name (a file a host
    loads outside its package, like score.py, needs that)."""
    nodes: list[ast.stmt] = [ast.parse(line).body[0] for line in extra]
    pieces = []
    for name in sorted(needed):
        piece = program.imports.get(name)
        if piece is not None and piece not in pieces:
            pieces.append(piece)
    for piece in sorted(pieces, key=lambda p: (p.cell.index, p.statement.start)):
        node = _filtered_import(piece.statement.node, needed)
        if node is not None:
            nodes.append(node)
    local: dict[str, list[str]] = {}
    definers = program.definer_module
    for name in sorted(needed - set(program.imports)):
        owner = definers.get(name)
        if owner and owner != module:
            local.setdefault(owner, []).append(name)
    for owner, names in sorted(local.items()):
        nodes.append(ast.ImportFrom(module=f"{package}.{owner}" if package else owner,
                                    names=[ast.alias(n) for n in names],
                                    level=0 if package else 1))
    lines: dict[str, tuple[int, str]] = {}
    for node in nodes:
        lines.setdefault(ast.unparse(node), _group(node, package))
    text, group = [], None
    for line in sorted(lines, key=lambda line: (lines[line], line)):
        if group is not None and lines[line][0] != group:
            text.append("")  # a blank line between stdlib, third-party and local imports
        group = lines[line][0]
        text.append(line)
    return "\n".join(text)
