"""Plan -> module sources: formatted with black, each block commented with its source cell.

Output is byte-stable: the same plan gives the same text, so reviewers diff only real changes.
Each module also gets a line map (formatted line -> cell index and line within the cell) that
lint findings and the manifest use.
"""

from __future__ import annotations

import ast
import bisect
import io
import sys
import tokenize
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Optional

import black

from .plan import FUNCTION, MODULE, PIPELINE, Piece, Plan, RoleFunction

BLACK_MODE = black.Mode(line_length=99)
ROLE_DOC = {
    "data": "Load the raw training data",
    "featurization": "Turn raw records into model features (training and scoring both use it)",
    "training": "Fit the model",
    "evaluation": "Compute the metrics on held-out data",
    "scoring": "Predict on new records",
}
MODULE_DOC = {
    "common": "Shared imports, constants and helpers from the mlops:setup cells",
    "data": "Data loading",
    "featurize": "Featurization",
    "train": "Training",
    "evaluate": "Evaluation",
    "score": "Scoring",
}
MODEL_FILE = "model.pkl"


@dataclass(frozen=True)
class Module:
    """One generated file: its path in the package, text, and line -> (cell index, cell line)."""

    path: str
    text: str
    line_map: dict[int, tuple[int, int]]


def template(name: str) -> Template:
    """A code template shipped in ``jupyter_mlops/templates``."""
    text = resources.files("jupyter_mlops").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def indent_code(source: str, prefix: str) -> str:
    """Indent ``source`` without touching lines inside multi-line strings (their value)."""
    inside: set[int] = set()
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


class _Builder:
    """Collects module lines and which cell lines each emitted piece came from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.origins: list[tuple[int, int, int, int]] = []

    def add(self, text: str = "") -> None:
        self.lines.extend(text.split("\n"))

    def add_piece(self, piece: Piece, prefix: str = "") -> None:
        start = len(self.lines) + 1
        self.add(indent_code(piece.source, prefix))
        self.origins.append((start, len(self.lines), piece.cell.index, piece.statement.start))

    def add_cell_comment(self, piece: Piece, prefix: str = "") -> None:
        cell = piece.cell
        self.add(f"{prefix}# notebook cell {cell.number} (id {cell.cell_id})")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _stmts(tree: ast.AST) -> list[ast.stmt]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]


def formatted(text: str) -> str:
    """``text`` in the one pinned style of generated code."""
    return black.format_str(text, mode=BLACK_MODE)


def format_module(path: str, builder: _Builder) -> Module:
    """Format with black and carry each statement's cell origin over to the formatted lines."""
    raw = builder.text()
    text = formatted(raw)
    line_map: dict[int, tuple[int, int]] = {}
    before, after = _stmts(ast.parse(raw)), _stmts(ast.parse(text))
    starts = [origin[0] for origin in builder.origins]  # emitted in line order
    if len(before) == len(after):
        for old, new in zip(before, after):  # ast.walk is breadth-first: inner nodes win
            for line in range(new.lineno, new.end_lineno + 1):
                raw_line = min(old.lineno + (line - new.lineno), old.end_lineno)
                origin = _origin(builder.origins, starts, raw_line)
                if origin is not None:
                    line_map[line] = origin
    return Module(path, text, line_map)


def _origin(origins, starts: list[int], raw_line: int) -> Optional[tuple[int, int]]:
    position = bisect.bisect_right(starts, raw_line) - 1
    if position < 0:
        return None
    start, end, cell_index, cell_line = origins[position]
    if start <= raw_line <= end:
        return cell_index, cell_line + (raw_line - start)
    return None


# --- imports ------------------------------------------------------------------------------


def _filtered_import(node: ast.stmt, names: set[str]) -> Optional[ast.stmt]:
    keep = []
    for alias in node.names:
        bound = alias.asname or alias.name.split(".")[0]
        if bound in names:
            keep.append(alias)
    if not keep:
        return None
    if isinstance(node, ast.Import):
        return ast.Import(names=keep)
    return ast.ImportFrom(module=node.module, names=keep, level=node.level)


def _import_group(node: ast.stmt) -> tuple[int, str]:
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return 0, ""
        if node.level:
            return 3, node.module or ""
        module = node.module or ""
    else:
        module = node.names[0].name
    top = module.split(".")[0]
    return (1 if top in sys.stdlib_module_names else 2), module


def render_imports(plan: Plan, needed: set[str], module: str, extra: tuple[str, ...] = ()) -> str:
    """Import lines for the names ``module`` uses: stdlib, third party, then package-local."""
    nodes: list[ast.stmt] = [ast.parse(line).body[0] for line in extra]
    seen_pieces = []
    for name in sorted(needed):
        piece = plan.imports.get(name)
        if piece is not None and piece not in seen_pieces:
            seen_pieces.append(piece)
    for piece in sorted(seen_pieces, key=lambda p: (p.cell.index, p.statement.start)):
        node = _filtered_import(piece.statement.node, needed)
        if node is not None:
            nodes.append(node)
    local: dict[str, list[str]] = {}
    for name in sorted(needed - set(plan.imports)):
        owner = plan.definer_module.get(name)
        if owner and owner != module:
            local.setdefault(owner, []).append(name)
    for owner, names in sorted(local.items()):
        nodes.append(ast.ImportFrom(module=owner, names=[ast.alias(n) for n in names], level=1))
    lines = {}
    for node in nodes:
        lines.setdefault(ast.unparse(node), _import_group(node))
    text, group = [], None
    for line in sorted(lines, key=lambda line: (lines[line], line)):
        if group is not None and lines[line][0] != group:
            text.append("")  # a blank line between stdlib, third-party and local imports
        group = lines[line][0]
        text.append(line)
    return "\n".join(text)


# --- role functions -----------------------------------------------------------------------


def _function_reads(function: RoleFunction) -> set[str]:
    reads: set[str] = set()
    for piece in function.pieces:
        reads |= piece.statement.reads
    return reads


def _module_reads(plan: Plan, module: str) -> set[str]:
    reads: set[str] = set()
    for piece in plan.module_defs.get(module, ()):
        reads |= piece.statement.reads
    for function in plan.functions.values():
        if function.module == module:
            reads |= _function_reads(function)
    return reads & (set(plan.imports) | set(plan.definer_module))


def _mutable_defaults(plan: Plan, function: RoleFunction) -> list:
    """Parameters whose default is a list, dict or set literal: a function default of that
    kind is shared between calls (pylint W0102), so the signature says None instead."""
    defaults = {p.name: p for p in plan.parameters}
    mutable = []
    for name in function.kwparams:
        try:
            value = ast.parse(defaults[name].default, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp,
                              ast.SetComp)):
            mutable.append(defaults[name])
    return mutable


def _signature(plan: Plan, function: RoleFunction) -> str:
    params = list(function.params)
    if function.kwparams:
        defaults = {p.name: p for p in plan.parameters}
        mutable = {p.name for p in _mutable_defaults(plan, function)}
        params.append("*")
        for name in function.kwparams:
            param = defaults[name]
            hint = f": {param.type_name}" if param.type_name else ""
            params.append(f"{name}=None" if name in mutable else f"{name}{hint} = {param.default}")
    return ", ".join(params)


def _return_line(plan: Plan, function: RoleFunction) -> str:
    if function.role == "evaluation":
        return f"return {plan.metrics_expr or '{}'}"
    if not function.returns:
        return ""
    return "return " + ", ".join(function.returns)


def add_function(builder: _Builder, plan: Plan, function: RoleFunction) -> None:
    """Emit one role function: signature, docstring, cell blocks, return."""
    cells = ", ".join(str(c.number) for c in function.cells)
    word = "cells" if len(function.cells) > 1 else "cell"
    if function.role == "featurization" and plan.frozen:
        builder.add("@frozen_statistics")
    builder.add(f"def {function.name}({_signature(plan, function)}):")
    builder.add(f'    """{ROLE_DOC[function.role]}.')
    builder.add()
    builder.add(f"    Generated from notebook {word} {cells}.")
    builder.add('    """')
    for param in _mutable_defaults(plan, function):
        builder.add(f"    if {param.name} is None:  # the parameters cell's default")
        builder.add(f"        {param.name} = {param.default}")
    current = None
    for piece in function.pieces:
        if piece.cell.index != current:
            if current is not None:
                builder.add()
            builder.add_cell_comment(piece, "    ")
            current = piece.cell.index
        builder.add_piece(piece, "    ")
    line = _return_line(plan, function)
    if line:
        builder.add(f"    {line}")
    builder.add()
    builder.add()


def add_module_defs(builder: _Builder, plan: Plan, module: str) -> None:
    """Module-level helpers and constants, each block under its cell comment."""
    needed = _needed_defs(plan, module)
    current = None
    for piece in plan.module_defs.get(module, ()):
        if not piece.statement.writes & needed:
            continue
        if piece.cell.index != current:
            builder.add()
            builder.add_cell_comment(piece)
            current = piece.cell.index
        builder.add_piece(piece)
    builder.add()
    builder.add()


def _needed_defs(plan: Plan, module: str) -> set[str]:
    """Names defined at module level in ``module`` that some module uses (transitively)."""
    defined = {n for n, m in plan.definer_module.items() if m == module}
    if module != "common":
        return defined
    needed: set[str] = set()
    for other in set(MODULE.values()) - {"common"}:
        needed |= _module_reads(plan, other) & defined
    pieces = plan.module_defs.get("common", ())
    changed = True
    while changed:
        changed = False
        for piece in pieces:
            if piece.statement.writes & needed:
                more = (piece.statement.reads & defined) - needed
                if more:
                    needed |= more
                    changed = True
    return needed


def module_docstring(plan: Plan, module: str) -> str:
    """The docstring at the top of each generated module."""
    nb_name = plan.notebook.path.replace("\\", "/").rsplit("/", 1)[-1]
    role = next((r for r, m in MODULE.items() if m == module and r in FUNCTION), None)
    api = f": ``{FUNCTION[role]}``" if role else ""
    return (f'"""{MODULE_DOC[module]} of {nb_name}{api}.\n\n'
            "Generated by jupyter-mlops: change the notebook and productionize again rather than\n"
            'editing this file.\n"""')


def common_module(plan: Plan, package: str) -> Optional[Module]:
    """``common.py`` with the setup helpers and constants other modules import."""
    needed = _needed_defs(plan, "common")
    if not needed:
        return None
    builder = _Builder()
    builder.add(module_docstring(plan, "common"))
    builder.add()
    reads: set[str] = set()
    for piece in plan.module_defs.get("common", ()):
        if piece.statement.writes & needed:
            reads |= piece.statement.reads
    builder.add(render_imports(plan, reads & set(plan.imports), "common"))
    add_module_defs(builder, plan, "common")
    return format_module(f"{package}/common.py", builder)


def role_module(plan: Plan, package: str, role: str, extra_imports=(), tail: str = "",
                constants: str = "", tail_reads: frozenset = frozenset()) -> Module:
    """A role's module: imports, module-level defs from its cells, the role function, tail."""
    function = plan.functions[role]
    module = function.module
    builder = _Builder()
    builder.add(module_docstring(plan, module))
    builder.add()
    needed = _module_reads(plan, module) | (
        set(tail_reads) & (set(plan.definer_module) | set(plan.imports)))
    builder.add(render_imports(plan, needed, module, tuple(extra_imports)))
    if constants:
        builder.add()
        builder.add(constants)
    add_module_defs(builder, plan, module)
    add_function(builder, plan, function)
    if tail:
        builder.add(tail)
    return format_module(f"{package}/{module}.py", builder)


def pipeline_steps(plan: Plan) -> tuple[list[str], list[str]]:
    """Lines of ``main()`` calling the role functions in order, and the local imports they need."""
    steps, imports = [], []
    available: set[str] = set()
    roles = [r for r in PIPELINE if r in plan.functions and r != "scoring"]
    later_reads: dict[str, set[str]] = {}
    for index, role in enumerate(roles):
        later_reads[role] = set()
        for other in roles[index + 1:]:
            later_reads[role] |= set(plan.functions[other].params)
    for role in roles:
        function = plan.functions[role]
        args = [n for n in function.params]
        missing = [a for a in args if a not in available]
        if missing:
            raise ValueError(f"{role} needs {missing} before they exist")  # plan guarantees order
        kwargs = [f"{n}=args.{n}" for n in function.kwparams]
        call = f"{function.name}({', '.join(args + kwargs)})"
        if role == "evaluation":
            steps.append(f"metrics = {call}")
        elif function.returns:
            keep = later_reads[role] | ({plan.model} if role == "training" else set())
            targets = [n if n in keep else "_" for n in function.returns]
            steps.append(f"{', '.join(targets)} = {call}")
            available |= set(function.returns)
        else:
            steps.append(call)
        if role != "training":
            imports.append(f"from .{function.module} import {function.name}")
    if "evaluation" not in plan.functions:
        steps.append("metrics = {}")
    return steps, imports
