"""The one builder of generated modules: lines with their cell of origin, formatted by black.

Output is byte-stable: the same plan gives the same text, so reviewers diff only real changes.
Each module also gets a line map (formatted line -> cell index and line within the cell) that
lint findings and the manifest use.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Optional

import black

from ..notebook import Cell

BLACK_MODE = black.Mode(line_length=99)


@dataclass(frozen=True)
class Module:
    """One generated file: its path in the package, text, and line -> (cell index, cell line);
    ``from_template``: jupyter-mlops' own code (the server, the ONNX runner), the same for
    every notebook, which its own CI lints (productionize lints what the notebook gave)."""

    path: str
    text: str
    line_map: dict[int, tuple[int, int]]
    from_template: bool = False


def template(name: str) -> Template:
    """A code template shipped in ``jupyter_mlops/templates``."""
    text = resources.files("jupyter_mlops").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def formatted(text: str) -> str:
    """``text`` in the one pinned style of generated code."""
    return black.format_str(text, mode=BLACK_MODE)


def indent_code(source: str, prefix: str) -> str:
    """Indent ``source`` without touching lines inside multi-line strings (their value)."""
    inside: set[int] = set()
    fstring_start = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                inside.update(range(token.start[0] + 1, token.end[0] + 1))
            elif token.type == getattr(tokenize, "FSTRING_START", -1):
                fstring_start = token.start[0]
            elif token.type == getattr(tokenize, "FSTRING_END", -1):
                inside.update(range(fstring_start + 1, token.end[0] + 1))
    except (tokenize.TokenError, IndentationError):
        pass
    return "\n".join(
        line if number in inside or not line.strip() else prefix + line
        for number, line in enumerate(source.split("\n"), start=1)
    )


class Builder:
    """Collects a module's lines and which cell lines each emitted block came from."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: list[str] = []
        self.origins: list[tuple[int, int, int, int]] = []
        self._cell: Optional[int] = None

    def add(self, text: str = "") -> None:
        """Plain lines (no cell of origin)."""
        self.lines.extend(text.split("\n"))

    def add_code(self, text: str, cell: Cell, cell_line: int, prefix: str = "",
                 note: Optional[str] = None) -> None:
        """Code from a cell, under a ``# notebook cell N`` comment when the cell changes
        (``note``: a comment saying how the code differs from the cell's)."""
        if cell.index != self._cell:
            if self._cell is not None:
                self.add()
            self.add(f"{prefix}# notebook cell {cell.number} (id {cell.cell_id})")
            self._cell = cell.index
        if note:
            self.add(f"{prefix}# {note}")
        start = len(self.lines) + 1
        self.add(indent_code(text, prefix))
        self.origins.append((start, len(self.lines), cell.index, cell_line))

    def end_block(self) -> None:
        """The next code starts a new cell comment even from the same cell."""
        self._cell = None

    def module(self) -> Module:
        """Format with black and carry each statement's cell origin over to the new lines."""
        raw = "\n".join(self.lines) + "\n"
        text = formatted(raw)
        line_map: dict[int, tuple[int, int]] = {}
        before, after = _stmts(ast.parse(raw)), _stmts(ast.parse(text))
        starts = [origin[0] for origin in self.origins]  # emitted in line order
        if len(before) == len(after):
            for old, new in zip(before, after):  # ast.walk is breadth-first: inner nodes win
                for line in range(new.lineno, new.end_lineno + 1):
                    raw_line = min(old.lineno + (line - new.lineno), old.end_lineno)
                    origin = _origin(self.origins, starts, raw_line)
                    if origin is not None:
                        line_map[line] = origin
        return Module(self.path, text, line_map)


def _stmts(tree: ast.AST) -> list[ast.stmt]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]


def _origin(origins, starts: list[int], raw_line: int) -> Optional[tuple[int, int]]:
    position = bisect.bisect_right(starts, raw_line) - 1
    if position < 0:
        return None
    start, end, cell_index, cell_line = origins[position]
    if start <= raw_line <= end:
        return cell_index, cell_line + (raw_line - start)
    return None


def plain_module(path: str, text: str) -> Module:
    """A module from a template, with no cell of origin."""
    return Module(path, formatted(text), {}, from_template=True)
