"""Which raw columns the scoring path reads: a record must carry those and no others.

A frame keeps "all columns" until a statement selects some (``X = df[FEATURES]``); using an
all-columns frame whole (``pd.get_dummies(df)``, ``df.columns``, a helper that iterates it)
makes every column required except those dropped by name and the label's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Optional

from .dataflow import base_name
from .program import Program
from .slicing import ScoringPath

#: Uses of a frame that read every column it has.
WHOLE = frozenset({"columns", "values", "dtypes", "T", "to_numpy", "select_dtypes", "iterrows",
                   "itertuples", "items", "to_dict", "apply", "corr", "describe", "keys",
                   "melt", "stack", "pivot", "transpose", "to_records", "sum", "mean", "max",
                   "min", "median", "std", "agg", "aggregate"})


@dataclass
class _Reads:
    frames: dict[str, Optional[frozenset[str]]]  # name -> None (all columns) or those selected
    whole: bool = False
    mentioned: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    lists: dict[str, frozenset[str]] = field(default_factory=dict)  # FEATURES = [...]


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def _strings_outside_drops(tree: ast.AST) -> set[str]:
    """String constants outside ``.drop(...)`` calls: columns some code reads."""
    inside = {id(n) for call in ast.walk(tree) if isinstance(call, ast.Call)
              and isinstance(call.func, ast.Attribute) and call.func.attr == "drop"
              for n in ast.walk(call)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and id(n) not in inside}


def _parents(node: ast.AST) -> dict[int, ast.AST]:
    return {id(child): parent for parent in ast.walk(node)
            for child in ast.iter_child_nodes(parent)}


def _frame_of(value: ast.expr, reads: _Reads) -> tuple[bool, Optional[frozenset[str]]]:
    """(derived from a frame, its columns) for an assigned value."""
    if isinstance(value, ast.Name) and value.id in reads.frames:
        return True, reads.frames[value.id]
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) \
            and value.value.id in reads.frames and not isinstance(value.slice, ast.Slice):
        selected = set(_strings(value.slice))
        for name in ast.walk(value.slice):
            if isinstance(name, ast.Name):
                selected |= reads.lists.get(name.id, frozenset())
        return True, frozenset(selected) if selected else reads.frames[value.value.id]
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        owner = value.func.value
        if isinstance(owner, ast.Name) and owner.id in reads.frames:
            if value.func.attr == "drop":
                reads.dropped |= _strings(value)
            return True, reads.frames[owner.id]
        return _frame_of(owner, reads) if isinstance(owner, (ast.Call, ast.Subscript)) else (
            False, None)
    return False, None


def _helper_uses_whole(helper: ast.FunctionDef, position: int) -> bool:
    args = helper.args.posonlyargs + helper.args.args
    if position >= len(args):
        return True
    inner = _Reads({args[position].arg: None})
    for stmt in helper.body:
        _scan(stmt, inner, {})
    return inner.whole


def _whole_use(name: ast.Name, parent: Optional[ast.AST], grand: Optional[ast.AST],
               helpers: dict[str, ast.FunctionDef]) -> bool:
    if isinstance(parent, ast.Subscript) and parent.value is name:
        return False  # df["a"], df[cols]
    if isinstance(parent, ast.Attribute) and parent.value is name:
        return parent.attr in WHOLE
    if isinstance(parent, ast.Call) and name in parent.args and isinstance(parent.func, ast.Name):
        helper = helpers.get(parent.func.id)
        if helper is not None:
            return _helper_uses_whole(helper, parent.args.index(name))
    if isinstance(parent, (ast.Assign, ast.For, ast.Return)) or isinstance(grand, ast.For):
        return False  # `X = df` (tracked as a frame), `for frame in [df]`, `return df`
    return True


def _track_assignment(stmt: ast.stmt, reads: _Reads) -> None:
    """A frame (or a list of column names) this statement makes from the records."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], ast.Name):
        derived, columns = _frame_of(stmt.value, reads)
        root = base_name(stmt.value)
        if derived:
            reads.frames[stmt.targets[0].id] = columns
        elif root in reads.frames and reads.frames[root] is None:
            reads.whole = True  # `X = df.drop(columns="y").values`: every column but y
        elif _strings(stmt.value):
            reads.lists[stmt.targets[0].id] = frozenset(_strings(stmt.value))
    if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name) and isinstance(
            stmt.iter, (ast.List, ast.Tuple)):
        for element in stmt.iter.elts:
            if isinstance(element, ast.Name) and element.id in reads.frames:
                reads.frames[stmt.target.id] = reads.frames[element.id]


def _uses_whole(stmt: ast.stmt, reads: _Reads, helpers: dict[str, ast.FunctionDef]) -> bool:
    """The statement reads every column of an all-columns frame."""
    parents = _parents(stmt)
    for node in ast.walk(stmt):
        if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                and node.id in reads.frames and reads.frames[node.id] is None):
            parent = parents.get(id(node))
            grand = parents.get(id(parent)) if parent is not None else None
            if _whole_use(node, parent, grand, helpers):
                return True
    return False


def _scan(stmt: ast.stmt, reads: _Reads, helpers: dict[str, ast.FunctionDef]) -> None:
    """Fold one statement of the path into what it reads of the records."""
    _track_assignment(stmt, reads)
    reads.whole = reads.whole or _uses_whole(stmt, reads, helpers)
    reads.mentioned |= _strings(stmt)
    reads.mentioned |= {n.attr for n in ast.walk(stmt) if isinstance(n, ast.Attribute)
                        and isinstance(n.value, ast.Name) and n.value.id in reads.frames}


def _constants(program: Program) -> dict[str, frozenset[str]]:
    """String values of module-level constants (``FEATURES = [...]``), by name."""
    found: dict[str, frozenset[str]] = {}
    for piece in program.module_defs.get("common", ()):
        if piece.statement.kind == "assign":
            for name in piece.statement.writes:
                found[name] = frozenset(_strings(piece.statement.node))
    return found


def required_columns(path: ScoringPath, program: Program, labels: tuple[str, ...],
                     columns: list[str], scoring: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The raw ``columns`` a record must carry for the scoring path (and ``scoring``, the
    scoring cell's code when it reads the records too)."""
    helpers = {p.statement.node.name: p.statement.node
               for p in program.module_defs.get("common", ())
               if isinstance(p.statement.node, ast.FunctionDef)}
    reads = _Reads({path.raw: None}, lists=_constants(program))
    texts = [step.text for step in path.steps] + [path.output] + list(scoring)
    for text in texts:
        for stmt in ast.parse(text).body:
            _scan(stmt, reads, helpers)
    used = {n.id for text in texts for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
    for name in used & set(reads.lists):
        reads.mentioned |= reads.lists[name]
    if reads.whole:
        elsewhere = set()
        for text in texts:
            elsewhere |= _strings_outside_drops(ast.parse(text))
        keep = [c for c in columns if c not in reads.dropped - elsewhere]
    else:
        keep = [c for c in columns if c in reads.mentioned]
    return tuple(c for c in keep if c not in labels)
